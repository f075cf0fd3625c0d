import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { openStore } from '../../src/store/open-store.js';

/**
 * Migrated stores to copy instead of migrating each test's store anew. Running every migration
 * costs about a second on PostgreSQL and half a second on SQLite, and the suite opens hundreds of
 * stores; copying a migrated one costs a few milliseconds. The migrations still run, once per
 * version of the store's code, through the same `openStore` the server uses; the tests of the
 * migrations themselves open empty locations and migrate step by step.
 *
 * A template is named by a hash of every source file under `src/store`, so a change to a
 * migration, or to anything a migration imports from the store, makes a new one.
 */
const STORE_SRC = join(dirname(fileURLToPath(import.meta.url)), '../../src/store');

function sourceHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(name).update(readFileSync(path));
    }
  };
  walk(STORE_SRC);
  return hash.digest('hex').slice(0, 16);
}

const DAY_MS = 24 * 3600_000;

let hashOnce: string | undefined;
const templateHash = () => (hashOnce ??= sourceHash());

/**
 * The migrated SQLite template file, made once by whichever test process gets there first: each
 * builds its own in a private folder and renames it into place, so no process copies a half-made
 * file.
 */
let sqliteTemplate: Promise<string> | undefined;
export function sqliteTemplateFile(): Promise<string> {
  sqliteTemplate ??= (async () => {
    const file = join(tmpdir(), `tally-test-template-${templateHash()}.db`);
    if (existsSync(file)) return file;
    for (const old of readdirSync(tmpdir()).filter((f) => f.startsWith('tally-test-template-'))) {
      const path = join(tmpdir(), old);
      if (statSync(path).mtimeMs < Date.now() - DAY_MS) rmSync(path, { force: true });
    }
    const dir = mkdtempSync(join(tmpdir(), 'tally-template-build-'));
    try {
      const store = await openStore({ dataDir: dir });
      await store.close();
      mkdirSync(dirname(file), { recursive: true });
      renameSync(join(dir, 'tally.db'), file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return file;
  })();
  return sqliteTemplate;
}

/** Copies the migrated template into `dataDir` as its store file, private to its owner as the store makes it. */
export async function copySqliteTemplate(dataDir: string): Promise<void> {
  copyFileSync(await sqliteTemplateFile(), join(dataDir, 'tally.db'));
}

/**
 * The name of the migrated PostgreSQL template database, made once per source hash under an
 * advisory lock (test processes run in parallel), then copied by `create database ... template`.
 */
let pgTemplate: Promise<string> | undefined;
export function pgTemplateDatabase(adminUrl: string, withClient: <T>(url: string, fn: (c: pg.Client) => Promise<T>) => Promise<T>): Promise<string> {
  pgTemplate ??= (async () => {
    const name = `tally_template_${templateHash()}`;
    await withClient(adminUrl, async (c) => {
      await c.query('select pg_advisory_lock(hashtext($1))', [name]);
      try {
        const exists = await c.query('select 1 from pg_database where datname = $1', [name]);
        if (exists.rowCount === 0) {
          const building = `${name}_${process.pid}`;
          await c.query(`drop database if exists ${building}`);
          await c.query(`create database ${building}`);
          const url = new URL(adminUrl);
          url.pathname = `/${building}`;
          const store = await openStore({ databaseUrl: url.toString(), dataDir: tmpdir() });
          await store.close();
          await c.query(`alter database ${building} rename to ${name}`);
          await c.query(`comment on database ${name} is '${Date.now()}'`);
          // Templates of older source, a day old or more, are no longer wanted by any run.
          const stale = await c.query<{ datname: string }>(
            `select datname from pg_database where datname like 'tally\\_template\\_%' and datname <> $1 and coalesce(shobj_description(oid, 'pg_database'), '0')::bigint < $2`,
            [name, Date.now() - DAY_MS],
          );
          for (const { datname } of stale.rows) await c.query(`drop database if exists ${datname} with (force)`);
        }
      } finally {
        await c.query('select pg_advisory_unlock(hashtext($1))', [name]);
      }
    });
    return name;
  })();
  return pgTemplate;
}
