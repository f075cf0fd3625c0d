/**
 * `tally`: the command line. Building the commands is all `tally --help` does, so this module and
 * the ones it imports declare commands and flags only; what a command runs (the store, the HTTP
 * server, the settings' checks) is imported when it runs. test/cli-startup.test.ts checks that
 * `--help` loads none of it.
 */
import { Command } from 'commander';
import { generateApiKey } from './auth/api-keys.js';
import { addSettingFlags } from './cli-flags.js';
import { registerBackupCommands } from './commands/backup.js';
import { registerReviewCommands } from './commands/review.js';
import { registerScoreCommand } from './commands/score.js';
import { registerEventCommands } from './commands/events.js';
import { registerRequestsCommands } from './commands/requests.js';
import { registerExportCommand } from './commands/export.js';
import { addUserCommands, ownerSetupToken, setupUrl } from './commands/users.js';
import type { Config } from './config.js';
import { TallyError } from './domain/errors.js';
import { LIMITS } from './domain/limits.js';
import type { Store } from './store/store.js';
import type { Workspace } from './store/types.js';

interface StoreFlags {
  data?: string;
  databaseUrl?: string;
}

const withStoreOptions = (cmd: Command, more: readonly 'publicUrl'[] = []): Command => addSettingFlags(cmd, ['dataDir', 'databaseUrl', ...more]);

/** Resolves the settings from a command's flags, the environment and the defaults. */
async function configOf(flags: Record<string, unknown>): Promise<Config> {
  const { configFromOptions } = await import('./cli-settings.js');
  return configFromOptions(flags);
}

/** Opens the store the flags select, which must exist (only `serve` creates one), runs `fn`, closes it. */
async function withStore<T>(flags: StoreFlags, fn: (store: Store, config: Config) => Promise<T>): Promise<T> {
  const config = await configOf({ ...flags });
  const { openExistingStore } = await import('./commands/existing-store.js');
  const store = await openExistingStore(config);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

async function requireWorkspace(store: Store, name: string): Promise<Workspace> {
  const ws = await store.workspaces.find(name);
  if (!ws) throw new TallyError('not_found', `--workspace: no workspace named "${name}"`);
  return ws;
}

async function issueKey(store: Store, ws: Workspace, label: string): Promise<{ id: number; key: string }> {
  const { key, display, hash } = generateApiKey();
  const info = await store.keys.create({ workspaceId: ws.id, label, prefix: display, secretHash: hash });
  return { id: info.id, key };
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

async function serve(flags: Record<string, unknown>): Promise<void> {
  const config = await configOf(flags);
  const [{ openStore }, { buildApp }] = await Promise.all([import('./store/open-store.js'), import('./app.js')]);
  const store = await openStore(config);
  const created = await store.workspaces.bootstrapDefault();
  if (created) {
    const { key } = await issueKey(store, created, 'created at first start');
    console.log(`Created workspace "default". Its API key, shown this once (store it now):`);
    console.log(key);
  }
  // While nobody has a dashboard account, each start prints a fresh one-time owner link (after listen).
  const setupToken = await ownerSetupToken(store);
  // Before listening: the first write should not wait for SQLite's writer thread to start.
  await store.startWriter();
  const app = await buildApp(config, { store, processMetrics: true });
  const address = await app.listen({ host: config.host, port: config.port });
  const where = config.databaseUrl ? 'PostgreSQL' : `SQLite at ${config.dataDir}/tally.db`;
  console.log(`Tally listening on ${address} (${where})`);
  for (const warning of await store.maintenanceWarnings()) app.log.warn(warning);
  if (setupToken !== null) {
    console.log('Open this one-time link to create the dashboard owner account (whoever opens it first):');
    console.log(setupUrl(config.publicUrl ?? address, setupToken));
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping: refusing new requests, committing queued writes');
    // Fastify closes idle keep-alive connections once, when closing starts; a connection that
    // finishes its request later (answered 503 while closing) or was accepted but sent nothing would
    // hold the close until its timeout. Sweep idle ones while draining, and cut the rest after 10 s.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
    const cut = setTimeout(() => app.server.closeAllConnections(), 10_000);
    try {
      await app.close();
      await store.close();
    } catch (err) {
      app.log.error({ err }, 'stopping failed');
      process.exit(1);
    } finally {
      clearInterval(sweep);
      clearTimeout(cut);
    }
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

export function buildCli(): Command {
  const program = new Command('tally').description('Tally: self-hosted LLM request logs and their scores').showHelpAfterError();

  addSettingFlags(program.command('serve').description('run the HTTP service (SQLite under --data unless --database-url is given)')).action(
    (opts: Record<string, unknown>) => serve(opts),
  );

  const workspaces = program.command('workspaces').description('create and list workspaces');
  withStoreOptions(workspaces.command('create').argument('<name>', 'workspace name').description('create a workspace')).action(
    (name: string, opts: StoreFlags) =>
      withStore(opts, async (store) => {
        if (name.length === 0 || name.length > LIMITS.workspaceName) throw new TallyError('invalid_field', `name: must be 1 to ${LIMITS.workspaceName} characters`);
        const ws = await store.workspaces.create(name);
        console.log(`created workspace ${ws.name} (id ${ws.id})`);
      }),
  );
  withStoreOptions(workspaces.command('list').description('list workspaces')).action((opts: StoreFlags) =>
    withStore(opts, async (store) => {
      for (const ws of await store.workspaces.list()) console.log(`${ws.id}\t${ws.name}\t${iso(ws.createdAt)}`);
    }),
  );

  const keys = program.command('keys').description('create, list and revoke API keys');
  withStoreOptions(
    keys
      .command('create')
      .description('create an API key; the key is printed once, alone on the last line')
      .option('--workspace <name>', 'workspace the key belongs to', 'default')
      .option('--label <label>', 'a note to tell keys apart', ''),
  ).action((opts: StoreFlags & { workspace: string; label: string }) =>
    withStore(opts, async (store) => {
      if (opts.label.length > LIMITS.keyLabel) throw new TallyError('invalid_field', `--label: at most ${LIMITS.keyLabel} characters`);
      const ws = await requireWorkspace(store, opts.workspace);
      const { id, key } = await issueKey(store, ws, opts.label);
      console.log(`created key ${id} for workspace ${ws.name}; it is shown only now:`);
      console.log(key);
    }),
  );
  withStoreOptions(keys.command('list').description('list the keys of a workspace (never the secrets)').option('--workspace <name>', 'workspace', 'default')).action(
    (opts: StoreFlags & { workspace: string }) =>
      withStore(opts, async (store) => {
        const ws = await requireWorkspace(store, opts.workspace);
        console.log('id\tprefix\tlabel\tcreated\tlast used\trevoked');
        for (const k of await store.keys.list(ws.id)) {
          console.log(`${k.id}\t${k.prefix}…\t${k.label}\t${iso(k.createdAt)}\t${iso(k.lastUsedAt)}\t${iso(k.revokedAt)}`);
        }
      }),
  );
  withStoreOptions(keys.command('revoke').argument('<key-id>', 'id of the key (from keys list)').description('revoke a key; it is refused from its next request')).action(
    (keyId: string, opts: StoreFlags) =>
      withStore(opts, async (store) => {
        const id = Number(keyId);
        if (!Number.isSafeInteger(id) || id <= 0) throw new TallyError('invalid_field', 'key-id: must be a positive integer');
        if (!(await store.keys.revoke(id))) throw new TallyError('not_found', `key-id: no live key with id ${id}`);
        console.log(`revoked key ${id}`);
      }),
  );
  addUserCommands(program, { withStoreOptions, withStore });
  registerScoreCommand(program, { withStoreOptions, withStore });
  registerRequestsCommands(program, { withStoreOptions, withStore });
  registerExportCommand(program, { withStoreOptions, withStore });
  registerEventCommands(program, { withStoreOptions, withStore });
  registerReviewCommands(program, { withStoreOptions, withStore });
  registerBackupCommands(program);
  return program;
}

buildCli()
  .parseAsync(process.argv)
  .catch(async (err: unknown) => {
    const { ConfigError } = await import('./config.js');
    if (err instanceof ConfigError || err instanceof TallyError) {
      console.error(`tally: ${err.message}`);
      process.exit(2);
    }
    console.error('tally: failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
