import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { LIMITS } from './domain/limits.js';

/**
 * Every setting, one schema. Each comes from a flag, else its environment variable, else the default;
 * `loadConfig` validates the result once at start and names the bad setting when one is wrong.
 */
export const ConfigSchema = Type.Object({
  host: Type.String({ minLength: 1, default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8787 }),
  dataDir: Type.String({ minLength: 1, default: './data' }),
  databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  sqliteSynchronous: Type.Union([Type.Literal('FULL'), Type.Literal('NORMAL')], { default: 'FULL' }),
  trackBodyLimit: Type.Integer({ minimum: 1024, default: LIMITS.trackBodyBytes }),
  logBodyLimit: Type.Integer({ minimum: 1024, default: LIMITS.logBodyBytes }),
  queueMaxBatch: Type.Integer({ minimum: 1, maximum: 10_000, default: 256 }),
  queueMaxPending: Type.Integer({ minimum: 1, default: 10_000 }),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  rateLimitPerKey: Type.Integer({ minimum: 0, default: 60_000 }),
  authFailuresPerMinute: Type.Integer({ minimum: 0, default: 60 }),
  requestTimeoutMs: Type.Integer({ minimum: 1000, default: 60_000 }),
  exportThreads: Type.Integer({ minimum: 1, maximum: 16, default: 1 }),
  exportsPerKey: Type.Integer({ minimum: 0, default: 2 }),
  exportsInAll: Type.Integer({ minimum: 0, default: 4 }),
  // Browser origins allowed to call the API with a key (CORS). Empty: no CORS headers at all.
  corsOrigins: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
});
export type Config = Static<typeof ConfigSchema>;

/** The environment variable behind each setting, with the flag that overrides it. */
export const CONFIG_SOURCES: Record<keyof Config, { env: string; flag: string }> = {
  host: { env: 'TALLY_HOST', flag: '--host' },
  port: { env: 'TALLY_PORT', flag: '--port' },
  dataDir: { env: 'TALLY_DATA_DIR', flag: '--data' },
  databaseUrl: { env: 'TALLY_DATABASE_URL', flag: '--database-url' },
  sqliteSynchronous: { env: 'TALLY_SQLITE_SYNCHRONOUS', flag: '--sqlite-synchronous' },
  trackBodyLimit: { env: 'TALLY_TRACK_BODY_LIMIT', flag: '--track-body-limit' },
  logBodyLimit: { env: 'TALLY_LOG_BODY_LIMIT', flag: '--log-body-limit' },
  queueMaxBatch: { env: 'TALLY_QUEUE_MAX_BATCH', flag: '--queue-max-batch' },
  queueMaxPending: { env: 'TALLY_QUEUE_MAX_PENDING', flag: '--queue-max-pending' },
  logLevel: { env: 'TALLY_LOG_LEVEL', flag: '--log-level' },
  rateLimitPerKey: { env: 'TALLY_RATE_LIMIT_PER_KEY', flag: '--rate-limit-per-key' },
  authFailuresPerMinute: { env: 'TALLY_AUTH_FAILURES_PER_MINUTE', flag: '--auth-failures-per-minute' },
  requestTimeoutMs: { env: 'TALLY_REQUEST_TIMEOUT_MS', flag: '--request-timeout-ms' },
  exportThreads: { env: 'TALLY_EXPORT_THREADS', flag: '--export-threads' },
  exportsPerKey: { env: 'TALLY_EXPORTS_PER_KEY', flag: '--exports-per-key' },
  exportsInAll: { env: 'TALLY_EXPORTS_IN_ALL', flag: '--exports-in-all' },
  corsOrigins: { env: 'TALLY_CORS_ORIGINS', flag: '--cors-origins' },
};

// Settings given as one comma-separated text (a flag or a variable) that hold a list.
const LIST_SETTINGS = new Set<keyof Config>(['corsOrigins']);

/**
 * The origin as a browser sends it in the `Origin` header (`scheme://host[:port]`, lower case, no
 * default port, no path), or null when the text is not an http(s) URL. Origins are compared as exact
 * strings, so a setting that differs from this form would never match any browser.
 */
export function canonicalOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : null;
}

export class ConfigError extends Error {}

export function loadConfig(flags: Partial<Record<keyof Config, unknown>>, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, src] of Object.entries(CONFIG_SOURCES) as [keyof Config, { env: string }][]) {
    const value = flags[key] ?? env[src.env];
    if (value === undefined || value === '') continue;
    raw[key] = LIST_SETTINGS.has(key) && typeof value === 'string' ? value.split(',').map((v) => v.trim()).filter((v) => v !== '') : value;
  }
  const converted = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, raw));
  const first = Value.Errors(ConfigSchema, converted).First();
  if (first) {
    const key = first.path.split('/')[1] as keyof Config;
    const src = CONFIG_SOURCES[key];
    const name = src ? `${src.flag} / ${src.env}` : key;
    throw new ConfigError(`invalid setting ${name}: ${first.message} (got ${JSON.stringify(raw[key])})`);
  }
  const config = converted as Config;
  for (const origin of config.corsOrigins) {
    const canonical = canonicalOrigin(origin);
    if (canonical === origin) continue;
    const hint = canonical === null ? '' : `; did you mean ${JSON.stringify(canonical)}?`;
    throw new ConfigError(
      `invalid setting --cors-origins / TALLY_CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin as browsers send it: scheme://host[:port] in lower case, http or https, no path, no trailing slash, no default port, no wildcard${hint}`,
    );
  }
  return config;
}
