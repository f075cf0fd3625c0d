import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { generateApiKey } from '../src/auth/api-keys.js';
import { openStore } from '../src/store/open-store.js';
import type { SqlStore } from '../src/store/sql-store.js';
import { KEY_CHANGE_CHECK_MS } from '../src/store/sqlite/sqlite-store.js';
import { BACKENDS, freshLocation, PG_ADMIN_URL } from './helpers/backends.js';

/**
 * API keys are looked up on every request, so found keys are served from memory. These tests prove
 * both halves: the memory is really used (a change made behind its back is not seen), and any
 * revocation, by this store or by another process's, is seen on the next lookup.
 */
for (const backend of BACKENDS) {
  describe(`API key lookups served from memory [${backend}]`, () => {
    async function twoStores() {
      const loc = await freshLocation(backend);
      const opts = { databaseUrl: loc.databaseUrl, dataDir: loc.dataDir };
      // Two stores on one database stand for two processes (SQLite: two connections to one file).
      const a = (await openStore(opts)) as SqlStore;
      const b = (await openStore(opts)) as SqlStore;
      const ws = await a.workspaces.create('w');
      return {
        a,
        b,
        ws,
        async newKey(label: string) {
          const k = generateApiKey();
          const info = await a.keys.create({ workspaceId: ws.id, label, prefix: k.display, secretHash: k.hash });
          return { ...info, hash: k.hash };
        },
        async close() {
          await a.close();
          await b.close();
          await loc.drop();
        },
      };
    }

    /** Waits until `a` serves this key from memory: a label changed through a's own connection (which announces nothing) is not seen. */
    async function untilCached(a: SqlStore, hash: string, id: number): Promise<void> {
      const deadline = Date.now() + 10_000;
      for (let n = 0; Date.now() < deadline; n++) {
        assert.ok(await a.keys.find(hash));
        await a.db.updateTable('api_keys').set({ label: `changed ${n}` }).where('id', '=', id).execute();
        const seen = await a.keys.find(hash);
        if (seen && seen.label !== `changed ${n}`) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.fail('the key was never served from memory');
    }

    it('a key revoked through another store is refused within a bounded time (SQLite: KEY_CHANGE_CHECK_MS)', async () => {
      const t = await twoStores();
      try {
        const key = await t.newKey('k');
        await untilCached(t.a, key.hash, key.id);
        assert.equal(await t.b.keys.revoke(key.id), true);
        // SQLite: the other connection's commit moves data_version, read at most every
        // KEY_CHANGE_CHECK_MS. PostgreSQL: the notification arrives when the revoking transaction
        // commits. Either way allow the time, with room for a loaded machine.
        const deadline = Date.now() + (backend === 'postgres' ? 2000 : KEY_CHANGE_CHECK_MS + 1000);
        let found = await t.a.keys.find(key.hash);
        while (found && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 5));
          found = await t.a.keys.find(key.hash);
        }
        assert.equal(found, null);
      } finally {
        await t.close();
      }
    });

    it('a key revoked through the same store is refused at once, and other keys stay valid', async () => {
      const t = await twoStores();
      try {
        const key = await t.newKey('k');
        const other = await t.newKey('other');
        await untilCached(t.a, key.hash, key.id);
        assert.equal(await t.a.keys.revoke(key.id), true);
        assert.equal(await t.a.keys.find(key.hash), null);
        assert.equal((await t.a.keys.find(other.hash))?.id, other.id);
        assert.equal(await t.b.keys.find(key.hash), null);
      } finally {
        await t.close();
      }
    });

    it('unknown keys are looked up every time and never kept', async () => {
      const t = await twoStores();
      try {
        const k = generateApiKey();
        assert.equal(await t.a.keys.find(k.hash), null);
        // Created after a failed lookup: found at once, not hidden by a remembered miss.
        const info = await t.b.keys.create({ workspaceId: t.ws.id, label: 'late', prefix: k.display, secretHash: k.hash });
        assert.equal((await t.a.keys.find(k.hash))?.id, info.id);
      } finally {
        await t.close();
      }
    });
  });
}

if (BACKENDS.includes('postgres')) {
  describe('the key change listener [postgres]', () => {
    it('closes when nothing else keeps the process running (its socket never holds the process open)', async () => {
      // A process of its own: here the test runner's handles would keep the event loop running.
      const script = fileURLToPath(new URL('./helpers/close-key-listener.ts', import.meta.url));
      const child = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, PG_ADMIN_URL], { timeout: 30_000 }).catch(
        (err: { code?: number; stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: `exit ${err.code}: ${err.stderr}` }),
      );
      assert.equal(child.stdout.trim(), 'closed', child.stderr);
    });
  });
}
