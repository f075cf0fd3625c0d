import type { Command } from 'commander';
import { TallyError } from '../domain/errors.js';
import type { Store } from '../store/store.js';
import type { StoreCommandHelpers } from './score.js';

interface ListFlags {
  workspace: string;
  json?: boolean;
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

async function workspaceId(store: Store, name: string): Promise<number> {
  const ws = await store.workspaces.find(name);
  if (!ws) throw new TallyError('not_found', `--workspace: no workspace named "${name}"`);
  return ws.id;
}

/**
 * `tally webhooks list --workspace NAME` and `tally alerts list --workspace NAME`: what is set up,
 * and its state, read from the store (never a webhook's secret).
 *
 * @example
 * ```sh
 * tally webhooks list --workspace default     # id, enabled, format, events, url, failing since
 * tally alerts list --workspace default --json
 * ```
 */
export function registerEventCommands<F extends object>(program: Command, helpers: StoreCommandHelpers<F>): void {
  const webhooks = program.command('webhooks').description('list the webhooks of a workspace (manage them with the API or the dashboard)');
  helpers
    .withStoreOptions(webhooks.command('list').description('list webhooks: id, state, format, events, url').requiredOption('--workspace <name>', 'workspace').option('--json', 'one JSON object per line'))
    .action((opts: F & ListFlags) =>
      helpers.withStore(opts, async (store) => {
        const hooks = await store.webhooks.list(await workspaceId(store, opts.workspace));
        if (!opts.json) console.log('id\tstate\tformat\tevents\turl\tfailing since');
        for (const w of hooks) {
          const state = w.enabled ? 'enabled' : `disabled (${w.disabledReason ?? 'manual'})`;
          if (opts.json) console.log(JSON.stringify({ id: w.id, url: w.url, description: w.description, events: w.events, format: w.format, enabled: w.enabled, disabled_reason: w.disabledReason, failing_since: w.failingSince === null ? null : iso(w.failingSince) }));
          else console.log(`${w.id}\t${state}\t${w.format}\t${w.events.join(',')}\t${w.url}\t${iso(w.failingSince)}`);
        }
      }),
    );

  const alerts = program.command('alerts').description('list the alerts of a workspace (manage them with the API or the dashboard)');
  helpers
    .withStoreOptions(alerts.command('list').description('list alerts: id, state, rule').requiredOption('--workspace <name>', 'workspace').option('--json', 'one JSON object per line'))
    .action((opts: F & ListFlags) =>
      helpers.withStore(opts, async (store) => {
        const list = await store.alerts.list(await workspaceId(store, opts.workspace));
        if (!opts.json) console.log('id\tstate\tname\trule');
        for (const a of list) {
          const what = a.kind === 'share' ? `share of ${a.scoreName} = ${a.shareValue}` : `mean of ${a.scoreName}`;
          const rule = `${what} ${a.direction} ${a.threshold} over ${a.windowMs / 1000}s, n >= ${a.minCount}, ${a.confidence * 100}%`;
          const state = a.enabled ? a.state : `${a.state} (disabled)`;
          if (opts.json) console.log(JSON.stringify({ id: a.id, name: a.name, state: a.state, enabled: a.enabled, kind: a.kind, score_name: a.scoreName, threshold: a.threshold, direction: a.direction, window_seconds: a.windowMs / 1000, min_count: a.minCount, confidence: a.confidence }));
          else console.log(`${a.id}\t${state}\t${a.name}\t${rule}`);
        }
      }),
    );
}
