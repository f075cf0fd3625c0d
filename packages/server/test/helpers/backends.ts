import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Store } from '../../src/store/store.js';
import type { Backend } from '../../src/store/types.js';
import { openStore, type StoreLocation } from '../../src/store/open-store.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { SqlStore } from '../../src/store/sql-store.js';
import { copySqliteTemplate, pgTemplateDatabase } from './store-template.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/** Where the tests find PostgreSQL (a server with trust auth); each test run makes its own database. */
export const PG_ADMIN_URL = process.env.TALLY_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/postgres';

/**
 * The backends the suite runs on, like kysely's DIALECTS: `TALLY_TEST_BACKENDS=sqlite` runs one,
 * the default (and CI) runs both.
 */
export const BACKENDS: Backend[] = (process.env.TALLY_TEST_BACKENDS ?? 'sqlite,postgres')
  .split(',')
  .map((b) => b.trim())
  .filter((b): b is Backend => b === 'sqlite' || b === 'postgres');

export interface StoreLocationForTest {
  /** For spawning real processes: the CLI flags that select this store. */
  args: string[];
  databaseUrl?: string;
  dataDir: string;
  drop(): Promise<void>;
}

/** Runs `fn` with a client connected to `url`, closed afterwards. */
export async function withPgClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * A new database on the server `adminUrl` points at, named `prefix` and something unique: its URL,
 * and `drop`, which removes it, also while connections to it remain. (The benchmarks use it too.)
 */
export async function freshPgDatabase(adminUrl: string, prefix: string, template?: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withPgClient(adminUrl, (c) => c.query(`create database ${name}${template === undefined ? '' : ` template ${template}`}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => withPgClient(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined) };
}

/**
 * A fresh store location: a temporary folder, or a new PostgreSQL database. Empty, or with
 * `migrated`, a copy of a store that every migration has run on (see store-template.ts).
 */
export async function freshLocation(backend: Backend, opts: { migrated?: boolean } = {}): Promise<StoreLocationForTest> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-test-'));
  if (backend === 'sqlite') {
    if (opts.migrated) await copySqliteTemplate(dataDir);
    return { args: ['--data', dataDir], dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const database = await freshPgDatabase(PG_ADMIN_URL, 'tally_test', opts.migrated ? await pgTemplateDatabase(PG_ADMIN_URL, withPgClient) : undefined);
  return {
    args: ['--database-url', database.url],
    databaseUrl: database.url,
    dataDir,
    drop: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await database.drop();
    },
  };
}

/** Opens the store of a location without migrating it: for tests that migrate step by step. */
export function openUnmigrated(location: StoreLocationForTest): SqlStore {
  return location.databaseUrl
    ? openPostgresStore({ connectionString: location.databaseUrl })
    : openSqliteStore({ file: join(location.dataDir, 'tally.db'), synchronous: 'FULL' });
}

/** Opens a migrated store on a fresh location; `close` closes it and drops the location. */
export async function freshStore(
  backend: Backend,
  options: Omit<StoreLocation, 'databaseUrl' | 'dataDir'> = {},
): Promise<{ store: Store; location: StoreLocationForTest; close(): Promise<void> }> {
  const location = await freshLocation(backend, { migrated: true });
  // The fresh location wins over any given with the options (a resolved configuration has one).
  const store = await openStore({ ...options, databaseUrl: location.databaseUrl, dataDir: location.dataDir });
  return {
    store,
    location,
    close: async () => {
      await store.close();
      await location.drop();
    },
  };
}
