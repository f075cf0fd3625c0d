import { isIP } from 'node:net';
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { LIMITS } from './domain/limits.js';
import { canonicalOrigin } from './domain/origins.js';

/** One setting of `tally serve`: where it comes from, what it holds, what it means. */
export interface Setting<S extends TSchema = TSchema> {
  /** The command-line flag, e.g. `--port`. */
  flag: string;
  /** The environment variable read when the flag is absent, e.g. `TALLY_PORT`. */
  env: string;
  /** What the flag's value is called in `--help` (`--port <port>`). */
  arg: string;
  /** Type, bounds and default; flags and variables are text, converted to this before the check. */
  schema: S;
  /** A comma-separated text (flag or variable) that holds a list. */
  list?: true;
  /** A check beyond the schema's; returns what is wrong, or null. */
  check?(value: Static<S>): string | null;
  description: string;
}

const setting = <S extends TSchema>(s: Setting<S>): Setting<S> => s;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'silent'] as const;
// Named ranges proxy-addr (Fastify's trustProxy) understands besides addresses and CIDRs.
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Every setting of `tally serve`, declared once. The CLI builds its flags and reads the environment
 * from this table, the README's configuration table is checked against it (test/config.test.ts),
 * and `loadConfig` resolves it: a flag, else its variable, else the default, validated once.
 */
export const SETTINGS = {
  host: setting({ flag: '--host', env: 'TALLY_HOST', arg: 'host', schema: Type.String({ minLength: 1, default: '127.0.0.1' }), description: 'address to listen on' }),
  port: setting({
    flag: '--port',
    env: 'TALLY_PORT',
    arg: 'port',
    schema: Type.Integer({ minimum: 0, maximum: 65535, default: 8787 }),
    description: 'port to listen on (`0`: any free port)',
  }),
  publicUrl: setting({
    flag: '--public-url',
    env: 'TALLY_PUBLIC_URL',
    arg: 'url',
    schema: Type.Optional(Type.String({ pattern: '^https?://[^/?#]+(/[^?#]*)?$' })),
    description: 'where people reach Tally, e.g. `https://tally.example.com`: the links the server and CLI print (setup, invitations) and those in Slack messages start with it; none: `http://HOST:PORT` in printed links, paths in Slack messages',
  }),
  dataDir: setting({
    flag: '--data',
    env: 'TALLY_DATA_DIR',
    arg: 'dir',
    schema: Type.String({ minLength: 1, default: './data' }),
    description: 'folder of the SQLite store (`<data>/tally.db`)',
  }),
  databaseUrl: setting({
    flag: '--database-url',
    env: 'TALLY_DATABASE_URL',
    arg: 'url',
    schema: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
    description: '`postgres://...`: use PostgreSQL instead of SQLite',
  }),
  sqliteSynchronous: setting({
    flag: '--sqlite-synchronous',
    env: 'TALLY_SQLITE_SYNCHRONOUS',
    arg: 'mode',
    schema: Type.Union([Type.Literal('FULL'), Type.Literal('NORMAL')], { default: 'FULL' }),
    description: '`FULL` survives a power cut; `NORMAL` only a process crash',
  }),
  trackBodyLimit: setting({
    flag: '--track-body-limit',
    env: 'TALLY_TRACK_BODY_LIMIT',
    arg: 'bytes',
    schema: Type.Integer({ minimum: 1024, default: LIMITS.trackBodyBytes }),
    description: 'largest body of the track and group routes, in bytes (413 above)',
  }),
  logBodyLimit: setting({
    flag: '--log-body-limit',
    env: 'TALLY_LOG_BODY_LIMIT',
    arg: 'bytes',
    schema: Type.Integer({ minimum: 1024, default: LIMITS.logBodyBytes }),
    description: 'largest body of `/log-request` and `/track-request`, in bytes (413 above)',
  }),
  tracesBodyLimit: setting({
    flag: '--traces-body-limit',
    env: 'TALLY_TRACES_BODY_LIMIT',
    arg: 'bytes',
    schema: Type.Integer({ minimum: 1024, default: LIMITS.tracesBodyBytes }),
    description: 'largest body of `POST /v1/traces` once decompressed, in bytes (413 above)',
  }),
  tracesMaxSpans: setting({
    flag: '--traces-max-spans',
    env: 'TALLY_TRACES_MAX_SPANS',
    arg: 'n',
    schema: Type.Integer({ minimum: 1, maximum: 100_000, default: LIMITS.tracesSpans }),
    description: 'most spans in one `POST /v1/traces` export (413 above)',
  }),
  queueMaxBatch: setting({
    flag: '--queue-max-batch',
    env: 'TALLY_QUEUE_MAX_BATCH',
    arg: 'n',
    schema: Type.Integer({ minimum: 1, maximum: 10_000, default: 256 }),
    description: 'most writes committed in one transaction',
  }),
  queueMaxPending: setting({
    flag: '--queue-max-pending',
    env: 'TALLY_QUEUE_MAX_PENDING',
    arg: 'n',
    schema: Type.Integer({ minimum: 1, default: 10_000 }),
    description: 'writes waiting beyond this are refused with 503 and `Retry-After: 1`',
  }),
  logLevel: setting({
    flag: '--log-level',
    env: 'TALLY_LOG_LEVEL',
    arg: 'level',
    schema: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { default: 'info' }),
    description: '`fatal`, `error`, `warn`, `info`, `debug` or `silent`',
  }),
  rateLimitPerKey: setting({
    flag: '--rate-limit-per-key',
    env: 'TALLY_RATE_LIMIT_PER_KEY',
    arg: 'n',
    schema: Type.Integer({ minimum: 0, default: 60_000 }),
    description: 'requests per API key per minute (429 and `Retry-After` above); `0`: no limit',
  }),
  authFailuresPerMinute: setting({
    flag: '--auth-failures-per-minute',
    env: 'TALLY_AUTH_FAILURES_PER_MINUTE',
    arg: 'n',
    schema: Type.Integer({ minimum: 0, default: 60 }),
    description: 'failed authentications per client address per minute before 429; `0`: no limit',
  }),
  requestTimeoutMs: setting({
    flag: '--request-timeout-ms',
    env: 'TALLY_REQUEST_TIMEOUT_MS',
    arg: 'ms',
    schema: Type.Integer({ minimum: 1000, default: 60_000 }),
    description: 'most time one request may take from its first byte to its answer (408 after)',
  }),
  headersTimeoutMs: setting({
    flag: '--headers-timeout-ms',
    env: 'TALLY_HEADERS_TIMEOUT_MS',
    arg: 'ms',
    schema: Type.Integer({ minimum: 1000, default: 15_000 }),
    description: 'most time a client may take to send the request headers',
  }),
  exportThreads: setting({
    flag: '--export-threads',
    env: 'TALLY_EXPORT_THREADS',
    arg: 'n',
    schema: Type.Integer({ minimum: 1, maximum: 16, default: 1 }),
    description: 'threads one export (`GET /v1/requests/export`) is split among, 1 to 16',
  }),
  readTimeoutMs: setting({
    flag: '--read-timeout-ms',
    env: 'TALLY_READ_TIMEOUT_MS',
    arg: 'ms',
    schema: Type.Integer({ minimum: 100, default: 15_000 }),
    description: 'most time one read statement (search, statistics, export page) may run before it is stopped and answered 503',
  }),
  readerThreads: setting({
    flag: '--reader-threads',
    env: 'TALLY_READER_THREADS',
    arg: 'n',
    schema: Type.Integer({ minimum: 2, maximum: 16, default: 2 }),
    description: 'SQLite: threads that run reads off the event loop, 2 to 16; one workspace holds all but one',
  }),
  readsPerWorkspace: setting({
    flag: '--reads-per-workspace',
    env: 'TALLY_READS_PER_WORKSPACE',
    arg: 'n',
    schema: Type.Integer({ minimum: 0, default: 1 }),
    description: "reads (searches, counts, statistics) of one workspace running at once; its others wait, so its slow reads do not take the CPU from other workspaces; `0`: no limit",
  }),
  readsWaitingPerWorkspace: setting({
    flag: '--reads-waiting-per-workspace',
    env: 'TALLY_READS_WAITING_PER_WORKSPACE',
    arg: 'n',
    schema: Type.Integer({ minimum: 1, default: 32 }),
    description: 'read statements of one workspace waiting for its turn; one more is answered 429',
  }),
  readBudgetMs: setting({
    flag: '--read-budget-ms',
    env: 'TALLY_READ_BUDGET_MS',
    arg: 'ms',
    schema: Type.Integer({ minimum: 0, default: 0 }),
    description: "read time one workspace may spend within `--read-budget-window-ms`; past it, its reads are answered 429 with Retry-After until enough of it is older than the window; `0` (the default): no budget",
  }),
  readBudgetWindowMs: setting({
    flag: '--read-budget-window-ms',
    env: 'TALLY_READ_BUDGET_WINDOW_MS',
    arg: 'ms',
    schema: Type.Integer({ minimum: 1000, default: 60_000 }),
    description: 'the sliding window `--read-budget-ms` is counted over',
  }),
  readParallelWorkers: setting({
    flag: '--read-parallel-workers',
    env: 'TALLY_READ_PARALLEL_WORKERS',
    arg: 'n',
    schema: Type.Integer({ minimum: 0, maximum: 64, default: 0 }),
    description: "PostgreSQL: parallel workers one read statement may use (`max_parallel_workers_per_gather`); `0`: one process, so a slow filter holds one core, not all of them",
  }),
  exportsPerKey: setting({
    flag: '--exports-per-key',
    env: 'TALLY_EXPORTS_PER_KEY',
    arg: 'n',
    schema: Type.Integer({ minimum: 0, default: 2 }),
    description: 'exports streaming at once per API key (or dashboard user); one more is answered 429; `0`: no limit',
  }),
  exportsInAll: setting({
    flag: '--exports-in-all',
    env: 'TALLY_EXPORTS_IN_ALL',
    arg: 'n',
    schema: Type.Integer({ minimum: 0, default: 4 }),
    description: 'exports streaming at once on this server; one more is answered 429; `0`: no limit',
  }),
  corsOrigins: setting({
    flag: '--cors-origins',
    env: 'TALLY_CORS_ORIGINS',
    arg: 'origins',
    schema: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    list: true,
    check: (origins) => {
      for (const origin of origins) {
        const canonical = canonicalOrigin(origin);
        if (canonical === origin) continue;
        const hint = canonical === null ? '' : `; did you mean ${JSON.stringify(canonical)}?`;
        return `${JSON.stringify(origin)} is not an origin as browsers send it: scheme://host[:port] in lower case, http or https, no path, no trailing slash, no default port, no wildcard${hint}`;
      }
      return null;
    },
    description: 'comma-separated exact origins, e.g. `https://app.example.com`, whose web pages may call the API with an API key (CORS); none: no CORS headers at all',
  }),
  feedbackPerAddress: setting({
    flag: '--feedback-limit-per-address',
    env: 'TALLY_FEEDBACK_LIMIT_PER_ADDRESS',
    arg: 'n',
    schema: Type.Integer({ minimum: 0, default: 120 }),
    description: 'end-user feedback submissions (`POST /v1/feedback`) per client address per minute (429 and `Retry-After` above); `0`: no limit',
  }),
  feedbackPerToken: setting({
    flag: '--feedback-limit-per-token',
    env: 'TALLY_FEEDBACK_LIMIT_PER_TOKEN',
    arg: 'n',
    schema: Type.Integer({ minimum: 0, default: 10 }),
    description: 'feedback submissions per feedback token per minute (429 and `Retry-After` above); `0`: no limit',
  }),
  trustProxy: setting({
    flag: '--trust-proxy',
    env: 'TALLY_TRUST_PROXY',
    arg: 'addresses',
    schema: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    list: true,
    check: (entries) => {
      const bad = entries.find((e) => !isProxyAddress(e));
      return bad === undefined ? null : `${JSON.stringify(bad)} is not an IP address, a CIDR range (10.0.0.0/8) or one of loopback, linklocal, uniquelocal`;
    },
    description:
      'comma-separated addresses or CIDR ranges of reverse proxies to trust: from them only, the client address comes from `X-Forwarded-For` and https from `X-Forwarded-Proto`; none: the socket\'s',
  }),
  webhookPollMs: setting({
    flag: '--webhook-poll-ms',
    env: 'TALLY_WEBHOOK_POLL_MS',
    arg: 'ms',
    schema: Type.Integer({ minimum: 0, default: 1000 }),
    description: 'how often this instance reads new events and due deliveries of webhooks; `0`: it sends no webhooks (others on the same database do)',
  }),
  webhookBackoffMs: setting({
    flag: '--webhook-backoff-ms',
    env: 'TALLY_WEBHOOK_BACKOFF_MS',
    arg: 'ms',
    schema: Type.Integer({ minimum: 10, default: 10_000 }),
    description: 'the first retry of a failed webhook delivery waits about this long; each next one twice as long, at most an hour, for 24 hours',
  }),
  webhookTimeoutMs: setting({
    flag: '--webhook-timeout-ms',
    env: 'TALLY_WEBHOOK_TIMEOUT_MS',
    arg: 'ms',
    schema: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
    description: 'most time a webhook receiver may take to answer before the attempt counts as failed',
  }),
  webhookConcurrency: setting({
    flag: '--webhook-concurrency',
    env: 'TALLY_WEBHOOK_CONCURRENCY',
    arg: 'n',
    schema: Type.Integer({ minimum: 1, maximum: 256, default: 8 }),
    description: 'webhook deliveries this instance sends at once',
  }),
  webhookAllowedHosts: setting({
    flag: '--webhook-allowed-hosts',
    env: 'TALLY_WEBHOOK_ALLOWED_HOSTS',
    arg: 'hosts',
    schema: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    list: true,
    description: 'comma-separated hosts webhooks may post to (`hooks.slack.com`, `*.example.com`); none: any host the server can reach (see docs/webhooks.md on SSRF)',
  }),
  alertIntervalMs: setting({
    flag: '--alert-interval-ms',
    env: 'TALLY_ALERT_INTERVAL_MS',
    arg: 'ms',
    schema: Type.Integer({ minimum: 0, default: 60_000 }),
    check: (ms) => (ms === 0 || ms >= 1000 ? null : 'must be 0 (no scheduled evaluation on this instance) or at least 1000'),
    description: 'how often each alert is evaluated (once per interval among all instances); `0`: this instance evaluates none on schedule',
  }),
};

export type SettingName = keyof typeof SETTINGS;

function objectOf<T extends Record<string, Setting>>(settings: T): TObject<{ [K in keyof T]: T[K]['schema'] }> {
  return Type.Object(Object.fromEntries(Object.entries(settings).map(([k, s]) => [k, s.schema]))) as TObject<{ [K in keyof T]: T[K]['schema'] }>;
}

/** The resolved configuration: what `buildApp` and `openStore` take. */
export const ConfigSchema = objectOf(SETTINGS);
export type Config = Static<typeof ConfigSchema>;

const entries = () => Object.entries(SETTINGS) as unknown as [SettingName, Setting][];

/** How a setting is named in messages: its flag and its variable. */
export const settingLabel = (name: SettingName): string => `${SETTINGS[name].flag} / ${SETTINGS[name].env}`;

/** The default as the README and `--help` show it; null when there is none. */
export function shownDefault(name: SettingName): string | null {
  const d: unknown = (SETTINGS[name].schema as { default?: unknown }).default;
  if (d === undefined || (Array.isArray(d) && d.length === 0)) return null;
  return Array.isArray(d) ? d.join(',') : String(d);
}

function isProxyAddress(text: string): boolean {
  if (PROXY_RANGE_NAMES.has(text)) return true;
  const [address, bits, ...rest] = text.split('/');
  if (rest.length > 0 || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

export class ConfigError extends Error {}

function validate(raw: Record<string, unknown>): Config {
  const converted = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, raw));
  const first = Value.Errors(ConfigSchema, converted).First();
  if (first) {
    const name = first.path.split('/')[1] as SettingName;
    const label = name in SETTINGS ? settingLabel(name) : name;
    // A choice among words says which words, not TypeBox's "Expected union value".
    const choices = (SETTINGS[name]?.schema as { anyOf?: { const?: unknown }[] } | undefined)?.anyOf?.map((s) => s.const);
    const message = choices?.every((c) => typeof c === 'string') ? `must be one of ${choices.join(', ')}` : first.message;
    throw new ConfigError(`invalid setting ${label}: ${message} (got ${JSON.stringify(raw[name])})`);
  }
  const config = converted as Config;
  for (const [name, s] of entries()) {
    const problem = s.check?.(config[name] as never) ?? null;
    if (problem !== null) throw new ConfigError(`invalid setting ${settingLabel(name)}: ${problem}`);
  }
  return config;
}

/**
 * Resolves every setting: the flag's value (keyed by setting name, as text or already typed), else
 * its environment variable, else the default; validated once. Throws a ConfigError naming the flag
 * and the variable of the first bad setting.
 */
export function loadConfig(flags: Partial<Record<SettingName, unknown>>, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, s] of entries()) {
    const value = flags[name] ?? env[s.env];
    if (value === undefined || value === '') continue;
    raw[name] = s.list && typeof value === 'string' ? value.split(',').map((v) => v.trim()).filter((v) => v !== '') : value;
  }
  return validate(raw);
}

/** The defaults with some settings replaced, validated; no environment is read (tests, benchmarks). */
export function configWith(overrides: Partial<Config> = {}): Config {
  return loadConfig(overrides, {});
}
