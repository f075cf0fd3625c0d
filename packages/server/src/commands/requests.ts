import type { Command } from 'commander';
import type { SortBy } from '@tally/sdk';
import { invalidField, TallyError } from '../domain/errors.js';
import { decodeCursor, PAGE_SIZE, type RequestFilter, type SortSpec } from '../domain/search-query.js';
import type { Store } from '../store/store.js';
import { addFilterOptions, messageForFlags, namingFlags, namingFlagsAsync, parseQueryParams, queryParams, type FilterFlags, type QueryParams } from './request-filters.js';
import { requestTable, type RequestRow } from './request-table.js';
import { remote, remoteClient, type RemoteFlags } from './remote.js';
import type { StoreCommandHelpers } from './score.js';

/** Most requests one search prints; beyond that `tally export` streams them. */
export const SEARCH_MAX_LIMIT = 10_000;

interface SearchFlags extends FilterFlags, RemoteFlags {
  limit: string;
  cursor?: string;
  json?: boolean;
  workspace: string;
}

interface Page {
  items: RequestRow[];
  next_cursor: string | null;
  has_more: boolean;
}

type FetchPage = (cursor: string | null, size: number) => Promise<Page>;

/** Pages until `limit` requests are in hand or none is left; the result's cursor continues after the last one. */
async function collect(limit: number, cursor: string | null, fetchPage: FetchPage): Promise<Page> {
  const items: RequestRow[] = [];
  let next = cursor;
  let hasMore = true;
  while (items.length < limit && hasMore) {
    const page = await fetchPage(next, Math.min(limit - items.length, PAGE_SIZE.max));
    items.push(...page.items);
    next = page.next_cursor;
    hasMore = page.has_more && page.next_cursor !== null;
  }
  return { items, next_cursor: hasMore ? next : null, has_more: hasMore };
}

function parseLimit(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > SEARCH_MAX_LIMIT) {
    throw invalidField('--limit', `must be an integer from 1 to ${SEARCH_MAX_LIMIT} (tally export streams any number)`);
  }
  return Number(text);
}

async function storePages(store: Store, workspaceId: number, filter: RequestFilter | null, sort: SortSpec): Promise<FetchPage> {
  // The search code (Kysely) is loaded when a search runs, not for `--help`.
  const { searchPage } = await import('../search/search-page.js');
  return (cursor, size) => namingFlagsAsync(() => searchPage(store, workspaceId, { filter, sort, cursor, limit: size }));
}

function print(page: Page, json: boolean | undefined): void {
  if (json) {
    console.log(JSON.stringify(page));
    return;
  }
  if (page.items.length === 0) {
    console.log('no requests match');
    return;
  }
  console.log(requestTable(page.items));
  const count = `${page.items.length} request${page.items.length === 1 ? '' : 's'}`;
  console.log(page.has_more ? `${count} shown; more match: continue with --cursor ${page.next_cursor}` : count);
}

/**
 * `tally requests search [filters] [--sort FIELD] [--order asc|desc] [--limit N] [--json]`: the
 * matching requests as a table (id, time, provider/model, prompt, latency, cost, tags, scores) or,
 * with `--json`, as `{ items, next_cursor, has_more }` (the items as `GET /v1/requests/search`
 * gives them; pass `next_cursor` to `--cursor` for more). Reads the store selected by `--data` /
 * `--database-url`, or a server with `--url` and `--key` (via @tally/sdk). Filter flags mirror the
 * search's query parameters; see `tally requests search --help`.
 *
 * @example
 * ```sh
 * tally requests search --model gpt-4o --tag prod --score 'quality<50' --sort score.quality --order asc
 * tally requests search --from 2024-11-01 --has-score quality --limit 1000 --json --url http://127.0.0.1:8787 --key tl_...
 * ```
 */
export function registerRequestsCommands<F extends object>(program: Command, helpers: StoreCommandHelpers<F>): void {
  const requests = program.command('requests').description('read logged requests');
  helpers
    .withStoreOptions(
      addFilterOptions(
        requests
          .command('search')
          .description('search requests: a table, or JSON with --json; filters are AND-combined')
          .option('--limit <n>', `most requests to print, 1 to ${SEARCH_MAX_LIMIT} (fetched in pages of up to ${PAGE_SIZE.max})`, String(PAGE_SIZE.default))
          .option('--cursor <cursor>', 'continue a previous search after its last request (its next_cursor)')
          .option('--json', 'print { items, next_cursor, has_more } as JSON, items as the API gives them'),
      )
        .option('--workspace <name>', 'workspace to search (store mode)', 'default')
        .option('--url <url>', 'a running Tally server instead of the store (env TALLY_BASE_URL)')
        .option('--key <key>', 'API key for --url (env TALLY_API_KEY)'),
    )
    .action(async (flags: SearchFlags & F) => {
      // Everything is checked before any I/O, the same way in both modes.
      const limit = parseLimit(flags.limit);
      const params: QueryParams = namingFlags(() => queryParams(flags));
      const { filter, sort } = parseQueryParams(params);
      const cursor = flags.cursor ?? null;
      if (cursor !== null) namingFlags(() => decodeCursor(cursor, sort));

      const tally = await remoteClient(flags);
      let page: Page;
      if (tally) {
        const { sort_by, sort_order, ...where } = params;
        page = await collect(limit, cursor, (c, size) =>
          remote(
            () => tally.requests.searchPage({ where, sort_by: sort_by as SortBy | undefined, sort_order: sort_order as 'asc' | 'desc' | undefined, limit: size, ...(c === null ? {} : { cursor: c }) }),
            messageForFlags,
          ),
        );
      } else {
        page = await helpers.withStore(flags, async (store) => {
          const ws = await store.workspaces.find(flags.workspace);
          if (!ws) throw new TallyError('not_found', `--workspace: no workspace named "${flags.workspace}"`);
          return collect(limit, cursor, await storePages(store, ws.id, filter, sort));
        });
      }
      print(page, flags.json);
    });
}
