import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { openStore } from '../src/store/open-store.js';
import { BACKENDS } from './helpers/backends.js';
import { privatePostgresUnavailable, startPrivatePostgres } from './helpers/private-postgres.js';
import { startServer } from './helpers/process.js';
import { addWorkspace, logBody } from './helpers/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  phase: 'before' | 'down' | 'after';
  status: number;
  ms: number;
  json: boolean;
  retryAfter: string | null;
}

for (const backend of BACKENDS) {
  if (backend === 'postgres') {
    const skip = privatePostgresUnavailable();
    describe('database outage [postgres]', () => {
      it('answers 503 JSON with Retry-After quickly while PostgreSQL is down, then recovers without a restart and loses nothing acknowledged', { skip: skip ?? false, timeout: 120_000 }, async () => {
        const pg = await startPrivatePostgres();
        let server: Awaited<ReturnType<typeof startServer>> | undefined;
        try {
          server = await startServer(['--database-url', pg.url]);
          const url = server.url;
          let serverErr = '';
          server.child.stderr!.on('data', (d) => (serverErr += d));
          const key = server.firstKey!;
          let phase: Answer['phase'] = 'before';
          const answers: Answer[] = [];
          const ackedRequests: number[] = [];
          const ackedScores = new Map<string, number>();
          let stop = false;
          let n = 0;
          const deadline = Date.now() + 90_000;
          const writer = async () => {
            while (!stop && Date.now() < deadline) {
              const i = n++;
              const scoring = i % 2 === 1 && ackedRequests.length > 0;
              const started = Date.now();
              const at = phase;
              try {
                const requestId = ackedRequests[i % Math.max(1, ackedRequests.length)]!;
                const res = scoring
                  ? await fetch(`${url}/rest/track-score`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ request_id: requestId, score: i % 101, name: `s${i}` }) })
                  : await fetch(`${url}/log-request`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(logBody({ tags: ['outage'], metadata: { i: String(i) } })) });
                const text = await res.text();
                let json = true;
                let body: { id?: number } = {};
                try {
                  body = JSON.parse(text) as { id?: number };
                } catch {
                  json = false;
                }
                answers.push({ phase: at, status: res.status, ms: Date.now() - started, json, retryAfter: res.headers.get('retry-after') });
                if (res.status === 201) ackedRequests.push(body.id!);
                if (res.status === 200 && scoring) ackedScores.set(`${requestId}/s${i}`, i % 101);
              } catch (err) {
                answers.push({ phase: at, status: -1, ms: Date.now() - started, json: false, retryAfter: String(err) });
              }
              if (phase === 'down') await sleep(20);
            }
          };
          const writers = Array.from({ length: 8 }, writer);
          let outageStarted = 0;
          let outageMs = 0;
          try {
          while (ackedRequests.length < 200 && Date.now() < deadline) await sleep(10);

          await pg.stop();
          phase = 'down';
          outageStarted = Date.now();
          await sleep(1500);
          assert.equal(server.child.exitCode, null, `the server is still running: ${serverErr}`);
          const health = await fetch(`${server.url}/healthz`);
          assert.equal(health.status, 200);
          const readyStarted = Date.now();
          const ready = await fetch(`${server.url}/readyz`);
          assert.ok(Date.now() - readyStarted < 2000, 'readyz answers within its timeout');
          assert.equal(ready.status, 503);
          assert.equal(ready.headers.get('retry-after'), '2');
          const readyBody = (await ready.json()) as { success: boolean; status: string; message: string };
          assert.equal(readyBody.success, false);
          assert.equal(readyBody.status, 'not ready');
          assert.match(readyBody.message, /^database: /);
          outageMs = Date.now() - outageStarted;

          await pg.start();
          let readyAgain = false;
          for (let i = 0; i < 100 && !readyAgain; i++) {
            readyAgain = (await fetch(`${server.url}/readyz`)).status === 200;
            if (!readyAgain) await sleep(100);
          }
          assert.ok(readyAgain, '/readyz is ready again once PostgreSQL is back');
          phase = 'after';
          const ackedAtRecovery = ackedRequests.length;
          while (ackedRequests.length < ackedAtRecovery + 100 && Date.now() < deadline) await sleep(10);
          } finally {
            stop = true;
            await Promise.all(writers);
          }

          const down = answers.filter((a) => a.phase === 'down');
          const after = answers.filter((a) => a.phase === 'after');
          const bad = answers.filter((a) => a.status === -1 || a.status >= 500 && a.status !== 503 || !a.json);
          const downStatuses = new Set(down.map((a) => a.status));
          const slowest = Math.max(...down.map((a) => a.ms));
          console.log(`outage ${outageMs} ms: ${down.length} answers while down (statuses ${[...downStatuses].join(',')}, slowest ${slowest} ms); ${ackedRequests.length} requests and ${ackedScores.size} scores acknowledged in all`);
          assert.deepEqual(bad, [], 'every answer is JSON and no 5xx other than 503');
          assert.ok(down.length > 20, `${down.length} answers during the outage`);
          assert.ok(down.filter((a) => a.status === 503).length > 10);
          for (const a of down.filter((x) => x.status === 503)) assert.equal(a.retryAfter, '2');
          assert.ok(slowest < 5000, `no request hangs: slowest answer during the outage took ${slowest} ms`);
          assert.ok(after.some((a) => a.status === 201), 'writes succeed after recovery');
          assert.ok(server.child.exitCode === null, 'the server never exited');

          // Every acknowledged write is in the database.
          const store = await openStore({ databaseUrl: pg.url, dataDir: '.' });
          try {
            const ws = (await store.workspaces.find('default'))!;
            let lost = 0;
            for (const id of ackedRequests) if (!(await store.requests.get(ws.id, id))) lost++;
            const byId = new Map<number, Record<string, number>>();
            for (const [k, v] of ackedScores) {
              const [id, name] = k.split('/') as [string, string];
              let scores = byId.get(Number(id));
              if (!scores) {
                scores = (await store.requests.get(ws.id, Number(id)))?.scores ?? {};
                byId.set(Number(id), scores);
              }
              // Each score write has a name of its own, so no later write (whose answer the outage
              // may have lost) can overwrite it: the stored value is exactly the acknowledged one.
              if (scores[name] !== v) lost++;
            }
            assert.equal(lost, 0, `${lost} acknowledged writes lost`);
          } finally {
            await store.close();
          }
          server.child.kill('SIGTERM');
          assert.equal(await server.exited, 0);
        } finally {
          if (server && server.child.exitCode === null) {
            server.child.kill('SIGKILL');
            await server.exited;
          }
          await pg.destroy();
        }
      });
    });
  }

  if (backend === 'sqlite') {
    describe('disk faults [sqlite]', () => {
      const captureLogs = () => {
        const lines: string[] = [];
        const stream = new Writable({
          write(chunk, _enc, cb) {
            lines.push(String(chunk));
            cb();
          },
        });
        return { lines, logger: { level: 'error', stream } };
      };

      it('answers 503 JSON naming the problem when the database file turns read-only, logs it, keeps serving reads and recovers', async (t) => {
        const dir = mkdtempSync(join(tmpdir(), 'tally-ro-'));
        const file = join(dir, 'tally.db');
        const store = await openStore({ dataDir: dir });
        const logs = captureLogs();
        const app = await buildApp(configWith(), { store, logger: logs.logger });
        let locked = false;
        try {
          const ws = await addWorkspace(store, 'ro');
          const headers = { 'x-api-key': ws.key };
          const first = await app.inject({ method: 'POST', url: '/log-request', headers, payload: logBody() });
          assert.equal(first.statusCode, 201);
          try {
            // Root ignores chmod, so the immutable flag plays a file nobody may write.
            execFileSync('chattr', ['+i', file, `${file}-wal`]);
            locked = true;
          } catch (err) {
            t.skip(`chattr +i is not available here: ${String(err)}`);
            return;
          }
          const res = await app.inject({ method: 'POST', url: '/log-request', headers, payload: logBody() });
          assert.equal(res.statusCode, 503);
          assert.equal(res.headers['retry-after'], '2');
          assert.deepEqual(res.json(), { success: false, code: 'unavailable', message: 'database: disk I/O error (is the file or its folder writable?); retry shortly' });
          assert.ok(logs.lines.some((l) => l.includes('"problem":"disk I/O error (is the file or its folder writable?)"') && l.includes('"driverCode":"SQLITE_IOERR')), logs.lines.join(''));
          const read = await app.inject({ method: 'GET', url: `/api/public/v2/requests/${first.json().id}`, headers });
          assert.equal(read.statusCode, 200);
          execFileSync('chattr', ['-i', file, `${file}-wal`]);
          locked = false;
          const again = await app.inject({ method: 'POST', url: '/log-request', headers, payload: logBody() });
          assert.equal(again.statusCode, 201);
        } finally {
          if (locked) execFileSync('chattr', ['-i', file, `${file}-wal`]);
          await app.close();
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('answers 503 JSON "disk is full" on a full disk, logs it, and recovers when space is freed', async (t) => {
        const dir = mkdtempSync(join(tmpdir(), 'tally-full-'));
        try {
          execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]);
        } catch (err) {
          rmSync(dir, { recursive: true, force: true });
          t.skip(`cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN): ${String(err).split('\n')[0]}`);
          return;
        }
        const data = join(dir, 'data');
        mkdirSync(data);
        const store = await openStore({ dataDir: data });
        const logs = captureLogs();
        const app = await buildApp(configWith(), { store, logger: logs.logger });
        try {
          const ws = await addWorkspace(store, 'full');
          const headers = { 'x-api-key': ws.key };
          assert.equal((await app.inject({ method: 'POST', url: '/log-request', headers, payload: logBody() })).statusCode, 201);
          // Fill the disk to the last byte.
          const filler = join(dir, 'filler');
          const fd = openSync(filler, 'w');
          const chunk = Buffer.alloc(64 * 1024, 1);
          try {
            for (let i = 0; i < 1000; i++) writeSync(fd, chunk);
          } catch {
            // ENOSPC: full.
          }
          try {
            for (let i = 0; i < 100_000; i++) writeSync(fd, chunk, 0, 512);
          } catch {
            // ENOSPC at byte granularity.
          }
          closeSync(fd);
          const big = logBody({ output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'z'.repeat(256 * 1024) }] }] } });
          const res = await app.inject({ method: 'POST', url: '/log-request', headers, payload: big });
          assert.equal(res.statusCode, 503, res.body);
          assert.equal(res.headers['retry-after'], '2');
          const body = res.json();
          assert.equal(body.code, 'unavailable');
          assert.match(body.message, /^database: (disk is full|disk I\/O error \(is the file or its folder writable\?\)); retry shortly$/);
          assert.ok(logs.lines.some((l) => /"driverCode":"SQLITE_(FULL|IOERR)/.test(l)), logs.lines.join(''));
          rmSync(filler);
          const again = await app.inject({ method: 'POST', url: '/log-request', headers, payload: logBody() });
          assert.equal(again.statusCode, 201, again.body);
        } finally {
          await app.close();
          await store.close();
          execFileSync('umount', [dir]);
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  }
}
