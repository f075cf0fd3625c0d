import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BACKENDS, freshLocation } from './helpers/backends.js';
import { runCli, startServer } from './helpers/process.js';
import { logBody } from './helpers/test-app.js';

const post = (url: string, key: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });

for (const backend of BACKENDS) {
  describe(`tally backup and restore [${backend}]`, () => {
    if (backend === 'postgres') {
      it('refuses with a pointer to pg_dump and pg_restore', async () => {
        const loc = await freshLocation(backend);
        try {
          const res = await runCli(['backup', join(loc.dataDir, 'b.db'), ...loc.args]);
          assert.equal(res.code, 2);
          assert.match(res.stderr, /pg_dump --format=custom --file FILE URL/);
          const restore = await runCli(['restore', join(loc.dataDir, 'b.db'), ...loc.args]);
          assert.equal(restore.code, 2);
          assert.match(restore.stderr, /pg_restore --clean --if-exists --dbname URL FILE/);
        } finally {
          await loc.drop();
        }
      });
      return;
    }

    it('backs up a serving store under concurrent writes, refuses unsafe restores, and restores the snapshot', async () => {
      const loc = await freshLocation(backend);
      const elsewhere = mkdtempSync(join(tmpdir(), 'tally-restore-'));
      const backupFile = join(elsewhere, 'tally-backup.db');
      try {
        const server = await startServer(loc.args);
        const key = server.firstKey!;
        const acked: number[] = [];
        let stop = false;
        const writer = async () => {
          for (let i = 0; i < 2000 && !stop; i++) {
            const res = await post(`${server.url}/log-request`, key, logBody({ tags: ['b'], metadata: { i: String(i) }, score: 50, score_name: 'q' }));
            if (res.status === 201) acked.push(((await res.json()) as { id: number }).id);
          }
        };
        const writers = Array.from({ length: 4 }, writer);
        const deadline = Date.now() + 60_000;
        while (acked.length < 100) {
          // Writers that stopped (a server that died, every write refused) would leave this waiting forever.
          assert.ok(Date.now() < deadline, `100 acknowledged writes within 60 s, got ${acked.length}`);
          await new Promise((r) => setTimeout(r, 10));
        }
        const ackedBeforeBackup = acked.length;
        const backup = await runCli(['backup', backupFile, ...loc.args]);
        stop = true;
        await Promise.all(writers);
        assert.equal(backup.code, 0, backup.stderr);
        assert.match(backup.stdout, /^backed up .* to .*tally-backup\.db: 1 workspaces, (\d+) requests, (\d+) score events\n$/);
        const inBackup = Number(/(\d+) requests/.exec(backup.stdout)![1]);
        assert.ok(inBackup >= ackedBeforeBackup, `backup holds ${inBackup} requests, ${ackedBeforeBackup} were acknowledged before it began`);
        assert.ok(!existsSync(`${backupFile}-wal`), 'the backup is one file');

        const again = await runCli(['backup', backupFile, ...loc.args]);
        assert.equal(again.code, 2);
        assert.match(again.stderr, /exists; choose a new file name/);

        const whileServing = await runCli(['restore', backupFile, ...loc.args, '--force']);
        assert.equal(whileServing.code, 2);
        assert.match(whileServing.stderr, /is in use by a running server or command; stop it first/);

        server.child.kill('SIGTERM');
        assert.equal(await server.exited, 0);

        const withData = await runCli(['restore', backupFile, ...loc.args]);
        assert.equal(withData.code, 2);
        assert.match(withData.stderr, /holds 1 workspaces and \d+ requests; pass --force to replace it/);

        const forced = await runCli(['restore', backupFile, ...loc.args, '--force']);
        assert.equal(forced.code, 0, forced.stderr);
        assert.match(forced.stdout, new RegExp(`restored .* ${inBackup} requests`));

        // The restored store serves: the key and every request acknowledged before the backup are there.
        const restored = await startServer(loc.args);
        try {
          for (const id of acked.slice(0, ackedBeforeBackup)) {
            const res = await fetch(`${restored.url}/api/public/v2/requests/${id}`, { headers: { 'x-api-key': key } });
            assert.equal(res.status, 200, `request ${id}`);
          }
        } finally {
          restored.child.kill('SIGTERM');
          await restored.exited;
        }

        // Into an empty data folder no --force is needed.
        const empty = join(elsewhere, 'empty');
        const fresh = await runCli(['restore', backupFile, '--data', empty]);
        assert.equal(fresh.code, 0, fresh.stderr);
      } finally {
        rmSync(elsewhere, { recursive: true, force: true });
        await loc.drop();
      }
    });
  });
}
