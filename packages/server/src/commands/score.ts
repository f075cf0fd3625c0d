import type { Command } from 'commander';
import { TallyError } from '../domain/errors.js';
import { parseId } from '../domain/ids.js';
import { checkScore, scoreName } from '../domain/score.js';
import type { Store } from '../store/store.js';
import { remote, remoteClient } from './remote.js';

/** What cli.ts lends the command: its store options and the way it opens a store. */
export interface StoreCommandHelpers<F> {
  withStoreOptions(cmd: Command): Command;
  withStore<T>(flags: F, fn: (store: Store) => Promise<T>): Promise<T>;
}

interface ScoreFlags {
  name?: string;
  workspace: string;
  comment?: string;
  url?: string;
  key?: string;
  json?: boolean;
}

/**
 * `tally score REQUEST_ID VALUE [--name N]`: sets a score, either directly in the store selected by
 * `--data` / `--database-url` (recorded with source `cli`), or through a running server with
 * `--url` and `--key` (env TALLY_BASE_URL / TALLY_API_KEY), via @tally/sdk.
 *
 * @example
 * ```sh
 * tally score 42 87 --name quality --data ./data
 * tally score 42 87 --url http://127.0.0.1:8787 --key tl_...
 * ```
 */
export function registerScoreCommand<F extends object>(program: Command, helpers: StoreCommandHelpers<F>): void {
  helpers
    .withStoreOptions(
      program
        .command('score')
        .description('set a score (integer 0..100) of a request, in the store or on a server (--url)')
        .argument('<request-id>', 'id of the logged request')
        .argument('<value>', 'integer from 0 to 100')
        .option('--name <name>', 'score name', 'default')
        .option('--comment <text>', 'a note kept in the score history')
        .option('--workspace <name>', 'workspace of the request (store mode)', 'default')
        .option('--url <url>', 'a running Tally server instead of the store (env TALLY_BASE_URL)')
        .option('--key <key>', 'API key for --url (env TALLY_API_KEY)')
        .option('--json', 'print the change as JSON'),
    )
    .action(async (requestId: string, value: string, flags: ScoreFlags & F) => {
      const id = parseId(requestId, 'request-id');
      const score = checkScore(/^-?\d+$/.test(value) ? Number(value) : Number.NaN, 'value');
      const name = scoreName(flags.name);
      const client = await remoteClient(flags);
      let change: { request_id: number; name: string; old_value: number | null; new_value: number | null };
      if (client) {
        change = await remote(() => client.scores.set(id, name, score, flags.comment === undefined ? {} : { comment: flags.comment }));
      } else {
        change = await helpers.withStore(flags, async (store) => {
          const ws = await store.workspaces.find(flags.workspace);
          if (!ws) throw new TallyError('not_found', `--workspace: no workspace named "${flags.workspace}"`);
          const c = await store.write((w) => w.run({ op: 'setScore', workspaceId: ws.id, requestId: id, name, value: score, actor: { id: 'cli', source: 'cli' }, opts: { comment: flags.comment ?? null } }));
          return { request_id: c.requestId, name: c.name, old_value: c.oldValue, new_value: c.newValue };
        });
      }
      if (flags.json) console.log(JSON.stringify(change));
      else console.log(`request ${change.request_id}: ${change.name} ${change.old_value ?? '(none)'} -> ${change.new_value}`);
    });
}
