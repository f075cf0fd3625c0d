import { Command, Option } from 'commander';
import { generateApiKey } from './auth/api-keys.js';
import { buildApp } from './app.js';
import { registerBackupCommands } from './commands/backup.js';
import { registerScoreCommand } from './commands/score.js';
import { registerRequestsCommands } from './commands/requests.js';
import { registerExportCommand } from './commands/export.js';
import { addUserCommands, ownerSetupToken, setupUrl } from './commands/users.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { TallyError } from './domain/errors.js';
import { LIMITS } from './domain/limits.js';
import { openStore } from './store/open-store.js';
import type { Store, Workspace } from './store/store.js';

interface StoreFlags {
  data?: string;
  databaseUrl?: string;
}

const withStoreOptions = (cmd: Command): Command =>
  cmd
    .option('--data <dir>', 'data directory of the SQLite store (env TALLY_DATA_DIR)', undefined)
    .option('--database-url <url>', 'PostgreSQL URL; without it SQLite is used (env TALLY_DATABASE_URL)', undefined);

function configFrom(flags: StoreFlags & Partial<Record<keyof Config, unknown>>): Config {
  return loadConfig({ ...flags, dataDir: flags.data, databaseUrl: flags.databaseUrl });
}

async function withStore<T>(flags: StoreFlags, fn: (store: Store) => Promise<T>): Promise<T> {
  const config = configFrom(flags);
  const store = await openStore(config);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function requireWorkspace(store: Store, name: string): Promise<Workspace> {
  const ws = await store.findWorkspace(name);
  if (!ws) throw new TallyError('not_found', `--workspace: no workspace named "${name}"`);
  return ws;
}

async function issueKey(store: Store, ws: Workspace, label: string): Promise<{ id: number; key: string }> {
  const { key, display, hash } = generateApiKey();
  const info = await store.createApiKey(ws.id, label, display, hash);
  return { id: info.id, key };
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

async function serve(flags: Record<string, unknown>): Promise<void> {
  const config = loadConfig({ ...flags, dataDir: flags.data, databaseUrl: flags.databaseUrl });
  const store = await openStore(config);
  const created = await store.bootstrapDefaultWorkspace();
  if (created) {
    const { key } = await issueKey(store, created, 'created at first start');
    console.log(`Created workspace "default". Its API key, shown this once (store it now):`);
    console.log(key);
  }
  // While nobody has a dashboard account, each start prints a fresh one-time owner link (after listen).
  const setupToken = await ownerSetupToken(store);
  // Before listening: the first write should not wait for SQLite's writer thread to start.
  await store.startWriter();
  const app = await buildApp({
    store,
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
    trackBodyLimit: config.trackBodyLimit,
    logBodyLimit: config.logBodyLimit,
    queueMaxBatch: config.queueMaxBatch,
    queueMaxPending: config.queueMaxPending,
    rateLimitPerKey: config.rateLimitPerKey,
    exportThreads: config.exportThreads,
    exportsPerKey: config.exportsPerKey,
    exportsInAll: config.exportsInAll,
    authFailuresPerMinute: config.authFailuresPerMinute,
    requestTimeoutMs: config.requestTimeoutMs,
    corsOrigins: config.corsOrigins,
    processMetrics: true,
  });
  const address = await app.listen({ host: config.host, port: config.port });
  const where = config.databaseUrl ? 'PostgreSQL' : `SQLite at ${config.dataDir}/tally.db`;
  console.log(`Tally listening on ${address} (${where})`);
  for (const warning of await store.maintenanceWarnings()) app.log.warn(warning);
  if (setupToken !== null) {
    console.log('Open this one-time link to create the dashboard owner account (whoever opens it first):');
    console.log(setupUrl(address, setupToken));
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

  withStoreOptions(
    program
      .command('serve')
      .description('run the HTTP service (SQLite under --data unless --database-url is given)')
      .option('--host <host>', 'address to listen on (env TALLY_HOST)', undefined)
      .addOption(new Option('--port <port>', 'port to listen on, 0 for any free one (env TALLY_PORT)'))
      .addOption(new Option('--sqlite-synchronous <mode>', 'FULL survives power loss, NORMAL only crashes (env TALLY_SQLITE_SYNCHRONOUS)').choices(['FULL', 'NORMAL']))
      .option('--track-body-limit <bytes>', `body limit of the track routes (env TALLY_TRACK_BODY_LIMIT, default ${LIMITS.trackBodyBytes})`)
      .option('--log-body-limit <bytes>', `body limit of the log routes (env TALLY_LOG_BODY_LIMIT, default ${LIMITS.logBodyBytes})`)
      .option('--log-level <level>', 'fatal, error, warn, info, debug or silent (env TALLY_LOG_LEVEL)')
      .option('--rate-limit-per-key <n>', 'requests per API key per minute, 0 for no limit (env TALLY_RATE_LIMIT_PER_KEY, default 60000)')
      .option('--auth-failures-per-minute <n>', 'failed authentications per client address per minute (env TALLY_AUTH_FAILURES_PER_MINUTE, default 60)')
      .option('--request-timeout-ms <ms>', 'most time one request may take (env TALLY_REQUEST_TIMEOUT_MS, default 60000)')
      .option('--export-threads <n>', 'threads one export is split among, 1 to 16 (env TALLY_EXPORT_THREADS, default 1)')
      .option('--exports-per-key <n>', 'exports streaming at once per API key, 0 for no limit (env TALLY_EXPORTS_PER_KEY, default 2)')
      .option('--exports-in-all <n>', 'exports streaming at once in all, 0 for no limit (env TALLY_EXPORTS_IN_ALL, default 4)')
      .option(
        '--cors-origins <origins>',
        'comma-separated exact origins (e.g. https://app.example.com,http://localhost:5173) whose web pages may call the API with an API key (X-API-KEY); never with cookies, never the dashboard (env TALLY_CORS_ORIGINS, default none: no CORS headers)',
      ),
  ).action((opts: Record<string, unknown>) => serve(opts));

  const workspaces = program.command('workspaces').description('create and list workspaces');
  withStoreOptions(workspaces.command('create').argument('<name>', 'workspace name').description('create a workspace')).action(
    (name: string, opts: StoreFlags) =>
      withStore(opts, async (store) => {
        if (name.length === 0 || name.length > LIMITS.workspaceName) throw new TallyError('invalid_field', `name: must be 1 to ${LIMITS.workspaceName} characters`);
        const ws = await store.createWorkspace(name);
        console.log(`created workspace ${ws.name} (id ${ws.id})`);
      }),
  );
  withStoreOptions(workspaces.command('list').description('list workspaces')).action((opts: StoreFlags) =>
    withStore(opts, async (store) => {
      for (const ws of await store.listWorkspaces()) console.log(`${ws.id}\t${ws.name}\t${iso(ws.createdAt)}`);
    }),
  );

  const keys = program.command('keys').description('create, list and revoke API keys');
  withStoreOptions(
    keys
      .command('create')
      .description('create an API key; the key is printed once, alone on the last line')
      .requiredOption('--workspace <name>', 'workspace the key belongs to')
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
  withStoreOptions(keys.command('list').description('list the keys of a workspace (never the secrets)').requiredOption('--workspace <name>', 'workspace')).action(
    (opts: StoreFlags & { workspace: string }) =>
      withStore(opts, async (store) => {
        const ws = await requireWorkspace(store, opts.workspace);
        console.log('id\tprefix\tlabel\tcreated\tlast used\trevoked');
        for (const k of await store.listApiKeys(ws.id)) {
          console.log(`${k.id}\t${k.prefix}…\t${k.label}\t${iso(k.createdAt)}\t${iso(k.lastUsedAt)}\t${iso(k.revokedAt)}`);
        }
      }),
  );
  withStoreOptions(keys.command('revoke').argument('<key-id>', 'id of the key (from keys list)').description('revoke a key; it is refused from its next request')).action(
    (keyId: string, opts: StoreFlags) =>
      withStore(opts, async (store) => {
        const id = Number(keyId);
        if (!Number.isSafeInteger(id) || id <= 0) throw new TallyError('invalid_field', 'key-id: must be a positive integer');
        if (!(await store.revokeApiKey(id))) throw new TallyError('not_found', `key-id: no live key with id ${id}`);
        console.log(`revoked key ${id}`);
      }),
  );
  addUserCommands(program, { withStoreOptions, withStore });
  registerScoreCommand(program, { withStoreOptions, withStore });
  registerRequestsCommands(program, { withStoreOptions, withStore });
  registerExportCommand(program, { withStoreOptions, withStore });
  registerBackupCommands(program);
  return program;
}

buildCli()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    if (err instanceof ConfigError || err instanceof TallyError) {
      console.error(`tally: ${err.message}`);
      process.exit(2);
    }
    console.error('tally: failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
