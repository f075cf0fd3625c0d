import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type pg from 'pg';
import { openStore } from '../src/store/open-store.js';
import { BACKENDS, freshLocation, freshStore, withPgClient } from './helpers/backends.js';
import { startServer } from './helpers/process.js';

const SERVER_OFF = 'PostgreSQL runs with autovacuum';
const TABLES_OFF = 'autovacuum is disabled on table requests, scores:';

const disableOnTables = (c: pg.Client) => c.query('alter table requests set (autovacuum_enabled = false); alter table scores set (autovacuum_enabled = off)');

describe('warnings at start about the database server', () => {
  it('none on SQLite', async () => {
    const { store, close } = await freshStore('sqlite');
    try {
      assert.deepEqual(await store.maintenanceWarnings(), []);
    } finally {
      await close();
    }
  });

  const postgres = { skip: !BACKENDS.includes('postgres') };

  it('PostgreSQL: the server setting as it is, and every table where autovacuum is disabled', postgres, async () => {
    const { store, location, close } = await freshStore('postgres');
    try {
      await withPgClient(location.databaseUrl!, async (c) => {
        const { rows } = await c.query<{ on: boolean }>("select current_setting('autovacuum') = 'on' and current_setting('track_counts') = 'on' as on");
        const before = await store.maintenanceWarnings();
        assert.equal(before.some((w) => w.startsWith(SERVER_OFF)), !rows[0]!.on, before.join('\n'));
        assert.equal(before.filter((w) => !w.startsWith(SERVER_OFF)).length, 0, before.join('\n'));
        await disableOnTables(c);
        const after = await store.maintenanceWarnings();
        assert.ok(after.some((w) => w.startsWith(TABLES_OFF)), after.join('\n'));
      });
    } finally {
      await close();
    }
  });

  it('tally serve logs them once it listens', postgres, async () => {
    const location = await freshLocation('postgres');
    try {
      const store = await openStore({ databaseUrl: location.databaseUrl, dataDir: location.dataDir });
      await store.close();
      await withPgClient(location.databaseUrl!, disableOnTables);
      const server = await startServer(location.args);
      try {
        for (let i = 0; i < 100 && !server.stdout().includes(TABLES_OFF); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(server.stdout().includes(TABLES_OFF), server.stdout());
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
      }
    } finally {
      await location.drop();
    }
  });
});
