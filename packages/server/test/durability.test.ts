import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { BACKENDS, freshLocation } from './helpers/backends.js';
import { startServer } from './helpers/process.js';
import { logBody } from './helpers/test-app.js';

interface AckedScore {
  requestId: number;
  name: string;
  value: number;
}

const COMMIT_SPY = fileURLToPath(new URL('./helpers/commit-spy.cjs', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `ready()` holds, failing with `what` after `ms`. */
async function until(ready: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

async function post(url: string, key: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
}

for (const backend of BACKENDS) {
  describe(`durability under kill -9 [${backend}]`, () => {
    it('finds every acknowledged write after the server is killed mid-stream and restarted', async () => {
      const loc = await freshLocation(backend);
      try {
        const server = await startServer(loc.args);
        const key = server.firstKey!;
        assert.ok(key);

        const ackedRequests: number[] = [];
        const ackedScores: AckedScore[] = [];
        let stop = false;
        let seq = 0;
        const writer = async (w: number) => {
          while (!stop) {
            const n = seq++;
            try {
              if (n % 2 === 0 || ackedRequests.length === 0) {
                const res = await post(`${server.url}/log-request`, key, logBody({ tags: [`w${w}`], metadata: { seq: String(n) }, score: 1 + (n % 100), score_name: `log-${n}` }));
                if (res.status === 201) {
                  const id = ((await res.json()) as { id: number }).id;
                  ackedRequests.push(id);
                  ackedScores.push({ requestId: id, name: `log-${n}`, value: 1 + (n % 100) });
                }
              } else {
                const requestId = ackedRequests[n % ackedRequests.length]!;
                const value = n % 101;
                const res = await post(`${server.url}/library-track-score`, key, { request_id: requestId, score: value, name: `s-${n}` });
                if (res.status === 200) ackedScores.push({ requestId, name: `s-${n}`, value });
              }
            } catch {
              // The connection died with the server: this write was never acknowledged.
            }
          }
        };
        const writers = Array.from({ length: 8 }, (_, w) => writer(w));
        // Kill while writes are in flight, once a good number has been acknowledged.
        await until(() => ackedScores.length >= 300, 120_000, `300 acknowledged scores (${ackedScores.length} so far)`);
        server.child.kill('SIGKILL');
        await server.exited;
        stop = true;
        await Promise.all(writers);
        assert.ok(ackedRequests.length > 50, `acknowledged ${ackedRequests.length} requests before the kill`);

        const again = await startServer(loc.args);
        try {
          const byRequest = new Map<number, AckedScore[]>();
          for (const s of ackedScores) byRequest.set(s.requestId, [...(byRequest.get(s.requestId) ?? []), s]);
          let missing = 0;
          for (const id of ackedRequests) {
            const res = await fetch(`${again.url}/api/public/v2/requests/${id}`, { headers: { 'x-api-key': key } });
            if (res.status !== 200) {
              missing++;
              continue;
            }
            const body = (await res.json()) as { scores: Record<string, number> };
            for (const s of byRequest.get(id) ?? []) if (body.scores[s.name] !== s.value) missing++;
          }
          assert.equal(missing, 0, `${missing} acknowledged writes lost out of ${ackedRequests.length} requests and ${ackedScores.length} scores`);
        } finally {
          again.child.kill('SIGTERM');
          await again.exited;
        }
      } finally {
        await loc.drop();
      }
    });

    // kill -9 cannot see a missing fsync (the page cache survives a killed process), nor an answer
    // sent a moment before its COMMIT. So the commits themselves are watched (helpers/commit-spy.cjs):
    // the setting each COMMIT runs under on the writer's connection, and no answer while it is held.
    it('commits on the writer with the fsync setting on, and answers a write only once its COMMIT has returned', async () => {
      const loc = await freshLocation(backend);
      const spy = mkdtempSync(join(tmpdir(), 'tally-commit-spy-'));
      const server = await startServer(loc.args, { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${COMMIT_SPY}`, TALLY_COMMIT_SPY_DIR: spy });
      try {
        const key = server.firstKey!;
        const logged = await post(`${server.url}/log-request`, key, logBody({ tags: ['spy'] }));
        assert.equal(logged.status, 201);
        const id = ((await logged.json()) as { id: number }).id;

        const held = join(spy, 'held');
        const writes: [string, unknown, number][] = [
          ['/library-track-score', { request_id: id, score: 42, name: 'held' }, 200],
          ['/log-request', logBody({ tags: ['held'] }), 201],
        ];
        for (const [route, body, status] of writes) {
          rmSync(held, { force: true });
          writeFileSync(join(spy, 'hold'), '');
          let answered = false;
          const pending = post(`${server.url}${route}`, key, body).then((res) => {
            answered = true;
            return res;
          });
          await until(() => existsSync(held), 30_000, `the COMMIT of ${route} to be held`);
          await sleep(300);
          assert.equal(answered, false, `${route} was answered while its COMMIT had not returned`);
          rmSync(join(spy, 'hold'));
          const res = await pending;
          assert.equal(res.status, status, `${route} after its COMMIT`);
        }
        const read = (await (await fetch(`${server.url}/api/public/v2/requests/${id}`, { headers: { 'x-api-key': key } })).json()) as { scores: Record<string, number> };
        assert.equal(read.scores.held, 42);

        const commits = readFileSync(join(spy, 'commits.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        if (backend === 'sqlite') {
          // FULL is 2: the WAL is synced at every COMMIT, so a power cut loses nothing acknowledged.
          assert.ok(commits.some((c) => c.engine === 'sqlite' && String(c.thread).startsWith('worker')), `COMMITs on the writer thread: ${JSON.stringify(commits)}`);
          assert.deepEqual(commits.filter((c) => c.synchronous !== 2), [], 'every SQLite COMMIT runs with synchronous = FULL');
        } else {
          assert.ok(commits.some((c) => c.engine === 'postgres'), `COMMITs seen: ${JSON.stringify(commits)}`);
          assert.deepEqual(commits.filter((c) => c.synchronous_commit !== 'on'), [], 'every PostgreSQL COMMIT waits for its WAL flush');
        }
      } finally {
        rmSync(join(spy, 'hold'), { force: true });
        server.child.kill('SIGTERM');
        await server.exited;
        rmSync(spy, { recursive: true, force: true });
        await loc.drop();
      }
    });
  });
}
