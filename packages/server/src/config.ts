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
};

export class ConfigError extends Error {}

export function loadConfig(flags: Partial<Record<keyof Config, unknown>>, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, src] of Object.entries(CONFIG_SOURCES) as [keyof Config, { env: string }][]) {
    const value = flags[key] ?? env[src.env];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const converted = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, raw));
  const first = Value.Errors(ConfigSchema, converted).First();
  if (first) {
    const key = first.path.replace(/^\//, '') as keyof Config;
    const src = CONFIG_SOURCES[key];
    const name = src ? `${src.flag} / ${src.env}` : key;
    throw new ConfigError(`invalid setting ${name}: ${first.message} (got ${JSON.stringify(raw[key])})`);
  }
  return converted as Config;
}
