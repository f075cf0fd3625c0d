import type { Static } from '@sinclair/typebox';
import type { Command } from 'commander';
import { AGREEMENT_METRICS, DEFAULT_AGREEMENT_ITEMS, MAX_AGREEMENT_ITEMS, type AgreementMetric } from '../domain/agreement.js';
import { invalidField, TallyError } from '../domain/errors.js';
import { parseId } from '../domain/ids.js';
import { scoreName } from '../domain/score.js';
import { jsonFilterParam } from '../domain/search-params.js';
import { metricFor, queueRatings, windowRatings, type RatingWindow } from '../review/agreement-data.js';
import { agreementReply, comparisonReply } from '../review/agreement-view.js';
import type { AgreementResult, ComparisonResult } from '../schemas/review.js';
import type { Store } from '../store/store.js';
import type { Workspace } from '../store/types.js';
import { remote, remoteClient, type RemoteFlags } from './remote.js';
import type { StoreCommandHelpers } from './score.js';

interface CommonFlags extends RemoteFlags {
  workspace: string;
  json?: boolean;
}

interface AgreementFlags extends CommonFlags {
  name?: string;
  queue?: string;
  metric?: string;
  compare?: boolean;
  filter?: string;
  seed?: string;
  limit?: string;
}

async function workspaceOf(store: Store, name: string): Promise<Workspace> {
  const ws = await store.workspaces.find(name);
  if (!ws) throw new TallyError('not_found', `--workspace: no workspace named "${name}"`);
  return ws;
}

function metricFlag(text: string | undefined): AgreementMetric | undefined {
  if (text === undefined) return undefined;
  if (!(AGREEMENT_METRICS as readonly string[]).includes(text)) throw invalidField('--metric', `must be one of ${AGREEMENT_METRICS.join(', ')}`);
  return text as AgreementMetric;
}

const fixed = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(3));

/**
 * `tally queues list` and `tally agreement`: review queues and the agreement between raters, from
 * the store (`--data` / `--database-url`) or a running server (`--url` and `--key`).
 *
 * @example
 * ```sh
 * tally queues list --data ./data
 * tally agreement --name quality --compare --url http://127.0.0.1:8787 --key tl_...
 * tally agreement --queue 3 --metric ordinal --data ./data
 * ```
 */
export function registerReviewCommands<F extends object>(program: Command, helpers: StoreCommandHelpers<F>): void {
  const queues = program.command('queues').description('review queues');
  helpers
    .withStoreOptions(
      queues
        .command('list')
        .description('list the review queues of a workspace with their progress')
        .option('--workspace <name>', 'workspace (store mode)', 'default')
        .option('--archived', 'include archived queues')
        .option('--url <url>', 'a running Tally server instead of the store (env TALLY_BASE_URL)')
        .option('--key <key>', 'API key for --url (env TALLY_API_KEY)')
        .option('--json', 'print the queues as JSON'),
    )
    .action(async (flags: CommonFlags & { archived?: boolean } & F) => {
      const client = await remoteClient(flags);
      type Row = { id: number; name: string; score_name: string; raters_per_item: number; blind: boolean; archived: boolean; items: number; completed: number; in_progress: number };
      let rows: Row[];
      if (client) {
        const list = await remote(() => client.queues.list({ include_archived: flags.archived ?? false }));
        rows = list.map((q) => ({ id: q.id, name: q.name, score_name: q.score_name, raters_per_item: q.raters_per_item, blind: q.blind, archived: q.archived_at !== null, items: q.progress.items, completed: q.progress.completed, in_progress: q.progress.in_progress }));
      } else {
        rows = await helpers.withStore(flags, async (store) => {
          const ws = await workspaceOf(store, flags.workspace);
          const out: Row[] = [];
          for (const q of await store.reviewQueues.list(ws.id, { includeArchived: flags.archived ?? false })) {
            const p = await store.reviewQueues.progress(q.id, Date.now());
            out.push({ id: q.id, name: q.name, score_name: q.scoreName, raters_per_item: q.ratersPerItem, blind: q.blind, archived: q.archivedAt !== null, items: p.items, completed: p.completed, in_progress: p.inProgress });
          }
          return out;
        });
      }
      if (flags.json) return console.log(JSON.stringify(rows));
      if (rows.length === 0) return console.log('no review queues');
      for (const r of rows) {
        console.log(`${r.id}\t${r.name}\t${r.score_name}\t${r.completed}/${r.items} done, ${r.in_progress} in progress\t${r.raters_per_item} per item${r.blind ? ', blind' : ''}${r.archived ? ', archived' : ''}`);
      }
    });

  helpers
    .withStoreOptions(
      program
        .command('agreement')
        .description("Krippendorff's alpha between the raters of a score name (or of a queue), with a bootstrap interval")
        .option('--name <name>', 'score name (every rating of it over --filter)')
        .option('--queue <id>', 'a review queue (its raters and its score name) instead of --name')
        .option('--metric <metric>', 'nominal, ordinal or interval (default: from the schema)')
        .option('--compare', 'compare people (user:, external:) with automatic raters (key:)')
        .option('--filter <json>', 'a native search filter as JSON (with --name)')
        .option('--limit <n>', `with --name: most scored requests read, the newest first (1 to ${MAX_AGREEMENT_ITEMS})`, String(DEFAULT_AGREEMENT_ITEMS))
        .option('--seed <n>', 'seed of the bootstrap', '1')
        .option('--workspace <name>', 'workspace (store mode)', 'default')
        .option('--url <url>', 'a running Tally server instead of the store (env TALLY_BASE_URL)')
        .option('--key <key>', 'API key for --url (env TALLY_API_KEY)')
        .option('--json', 'print the answer as JSON'),
    )
    .action(async (flags: AgreementFlags & F) => {
      if ((flags.name === undefined) === (flags.queue === undefined)) throw invalidField('--name', 'give exactly one of --name and --queue');
      const metric = metricFlag(flags.metric);
      const seed = Number(flags.seed ?? '1');
      if (!Number.isInteger(seed) || seed < 0) throw invalidField('--seed', 'must be a non-negative integer');
      const queueId = flags.queue === undefined ? undefined : parseId(flags.queue, '--queue');
      const name = flags.name === undefined ? undefined : scoreName(flags.name, '--name');
      const filter = flags.filter === undefined ? null : jsonFilterParam(flags.filter, '--filter');
      if (queueId !== undefined && (flags.compare || flags.filter !== undefined)) throw invalidField('--compare', '--compare and --filter go with --name');
      const limit = Number(flags.limit ?? DEFAULT_AGREEMENT_ITEMS);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AGREEMENT_ITEMS) throw invalidField('--limit', `must be an integer from 1 to ${MAX_AGREEMENT_ITEMS}`);
      const client = await remoteClient(flags);
      let answer: { name: string; window?: RatingWindow; agreement: Static<typeof AgreementResult>; comparison?: Static<typeof ComparisonResult> };
      if (client) {
        const options = { ...(metric === undefined ? {} : { metric }), seed };
        answer =
          queueId !== undefined
            ? await remote(() => client.queues.agreement(queueId, options))
            : await remote(() =>
                client.scores.agreement({ name: name!, ...options, limit, ...(flags.compare ? { compare: 'humans,automatic' as const } : {}), ...(flags.filter === undefined ? {} : { filter: JSON.parse(flags.filter) }) }),
              );
      } else {
        answer = await helpers.withStore(flags, async (store) => {
          const ws = await workspaceOf(store, flags.workspace);
          const bootstrap = { seed, replicates: 1000 };
          if (queueId !== undefined) {
            const q = await store.reviewQueues.get(ws.id, queueId);
            if (!q) throw new TallyError('not_found', `--queue: no review queue with id ${queueId}`);
            const chosen = await metricFor(store, ws.id, q.scoreName, metric);
            const points = (await queueRatings(store, q)).map((r) => ({ requestId: r.requestId, rater: r.rater, value: r.value }));
            return { name: q.scoreName, agreement: agreementReply(points, chosen.metric, bootstrap) };
          }
          const chosen = await metricFor(store, ws.id, name!, metric);
          const read = await windowRatings(store, ws.id, name!, filter, limit);
          const points = read.ratings.map((r) => ({ requestId: r.requestId, rater: r.rater, value: r.value }));
          return {
            name: name!,
            window: read.window,
            agreement: agreementReply(points, chosen.metric, bootstrap),
            ...(flags.compare ? { comparison: comparisonReply(points, chosen.metric, 1, chosen.labelOf) } : {}),
          };
        });
      }
      if (flags.json) return console.log(JSON.stringify(answer));
      const a = answer.agreement;
      const ci = a.interval === null ? '' : ` (95% interval ${fixed(a.interval.low)} to ${fixed(a.interval.high)})`;
      console.log(`${answer.name}: alpha ${fixed(a.alpha)}${ci}, ${a.metric}, ${a.items_pairable} of ${a.items_rated} items rated by 2 or more`);
      if (answer.window?.truncated) console.log(`  over the latest ${answer.window.requests} scored requests that match; older ones left out (--limit)`);
      for (const r of a.raters) console.log(`  ${r.rater}\t${r.items} items\toffset ${fixed(r.mean_offset)}\talpha ${fixed(r.alpha)}`);
      const c = answer.comparison;
      if (c) console.log(`humans vs automatic: ${c.items} items, alpha ${fixed(c.alpha)}, mean absolute difference ${fixed(c.mean_absolute_difference)}, ${c.disagreement_count} disagreements`);
    });
}
