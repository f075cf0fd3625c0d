import type { Command } from 'commander';
import { invalidField, TallyError } from '../domain/errors.js';
import { checkComment } from '../domain/score-schema.js';
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
  label?: string;
  reason: string[];
  url?: string;
  key?: string;
  json?: boolean;
}

/**
 * `tally score REQUEST_ID [VALUE] [--name N] [--label L] [--comment C] [--reason R ...]`: sets a
 * score (a value, or a label of the name's schema), either directly in the store selected by
 * `--data` / `--database-url` (recorded with source `cli`), or through a running server with
 * `--url` and `--key` (env TALLY_BASE_URL / TALLY_API_KEY), via @tally/sdk. The name's schema
 * checks it either way.
 *
 * @example
 * ```sh
 * tally score 42 87 --name quality --data ./data
 * tally score 42 --name verdict --label bad --comment "made up a source" --reason hallucination
 * tally score 42 87 --url http://127.0.0.1:8787 --key tl_...
 * ```
 */
export function registerScoreCommand<F extends object>(program: Command, helpers: StoreCommandHelpers<F>): void {
  helpers
    .withStoreOptions(
      program
        .command('score')
        .description('set a score (integer 0..100, or --label) of a request, in the store or on a server (--url)')
        .argument('<request-id>', 'id of the logged request')
        .argument('[value]', 'integer from 0 to 100 (or give --label)')
        .option('--name <name>', 'score name', 'default')
        .option('--label <label>', "a label of the name's schema instead of a value")
        .option('--comment <text>', 'a note kept with the score and in its history')
        .option('--reason <reason>', "a reason of the name's schema (repeat for several)", (v: string, all: string[]) => [...all, v], [] as string[])
        .option('--workspace <name>', 'workspace of the request (store mode)', 'default')
        .option('--url <url>', 'a running Tally server instead of the store (env TALLY_BASE_URL)')
        .option('--key <key>', 'API key for --url (env TALLY_API_KEY)')
        .option('--json', 'print the change as JSON'),
    )
    .action(async (requestId: string, value: string | undefined, flags: ScoreFlags & F) => {
      const id = parseId(requestId, 'request-id');
      if (value !== undefined && flags.label !== undefined) throw invalidField('--label', 'give either a value or --label, not both');
      if (value === undefined && flags.label === undefined) throw invalidField('value', 'is required (or give --label)');
      const score = value === undefined ? null : checkScore(/^-?\d+$/.test(value) ? Number(value) : Number.NaN, 'value');
      const label = flags.label ?? null;
      const name = scoreName(flags.name);
      const comment = checkComment(flags.comment ?? null, '--comment');
      const reasons = flags.reason.length === 0 ? null : flags.reason;
      const client = await remoteClient(flags);
      let change: { request_id: number; name: string; old_value: number | null; new_value: number | null; label: string | null };
      if (client) {
        const options = { ...(comment === null ? {} : { comment }), ...(reasons === null ? {} : { reasons }) };
        const c = await remote(() => client.scores.set(id, name, label === null ? score! : { label }, options));
        change = { request_id: c.request_id, name: c.name, old_value: c.old_value, new_value: c.new_value, label: c.label ?? null };
      } else {
        change = await helpers.withStore(flags, async (store) => {
          const ws = await store.workspaces.find(flags.workspace);
          if (!ws) throw new TallyError('not_found', `--workspace: no workspace named "${flags.workspace}"`);
          const c = await store.write((w) => w.run({ op: 'setScore', workspaceId: ws.id, requestId: id, name, value: score, label, reasons, actor: { id: 'cli', source: 'cli' }, opts: { comment } }));
          return { request_id: c.requestId, name: c.name, old_value: c.oldValue, new_value: c.newValue, label: c.label ?? null };
        });
      }
      if (flags.json) console.log(JSON.stringify(change));
      else console.log(`request ${change.request_id}: ${change.name} ${change.old_value ?? '(none)'} -> ${change.new_value}${change.label ? ` (${change.label})` : ''}`);
    });
}
