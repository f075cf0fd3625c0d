import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { freshPgDatabase, PG_ADMIN_URL } from '../../packages/server/test/helpers/backends.js';

// The load benchmark's floors (bench/lib/durable-floor-server.mjs, schema-floor-server.mjs) are only
// fair references if they do what they claim: each answers a write only once the write is
// committed, and refuses what it cannot write. Checked here as Tally's own durability test checks
// Tally: writes in flight, kill -9, then every acknowledged write looked up in the file.
/** What the floor committed: the score of a pair, its number of history rows, the scores out of range. */
interface Committed {
  score(requestId: number, name: string): Promise<number | undefined>;
  events(requestId: number, name: string): Promise<number>;
  outOfRange(): Promise<number>;
  close(): Promise<void>;
}

function sqliteCommitted(file: string) {
  return async (dir: string): Promise<Committed> => {
    const db = new SQLite(join(dir, file), { readonly: true });
    const score = db.prepare('select value from scores where request_id = ? and name = ?').pluck();
    const events = db.prepare('select count(*) from score_events where request_id = ? and name = ?').pluck();
    return {
      score: async (id, name) => score.get(id, name) as number | undefined,
      events: async (id, name) => events.get(id, name) as number,
      outOfRange: async () => db.prepare('select count(*) from scores where value > 100').pluck().get() as number,
      close: async () => void db.close(),
    };
  };
}

async function pgCommitted(url: string): Promise<Committed> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const one = async (sql: string, params: unknown[]) => (await c.query(sql, params)).rows[0] as Record<string, unknown> | undefined;
  return {
    score: async (id, name) => (await one('select value from scores where request_id = $1 and name = $2', [id, name]))?.value as number | undefined,
    events: async (id, name) => Number((await one('select count(*) as n from score_events where request_id = $1 and name = $2', [id, name]))!.n),
    outOfRange: async () => Number((await one('select count(*) as n from scores where value > 100', []))!.n),
    close: () => c.end(),
  };
}

interface Floor {
  name: string;
  server: string;
  /** The environment the floor is started with, and what it committed, once it is dead. */
  setup(dir: string): Promise<{ env: NodeJS.ProcessEnv; committed(): Promise<Committed>; drop(): Promise<void> }>;
}

const onFile = (file: string) => async (dir: string) => ({ env: {}, committed: () => sqliteCommitted(file)(dir), drop: async () => {} });

const FLOORS: Floor[] = [
  { name: 'durable floor', server: 'durable-floor-server.mjs', setup: onFile('floor.db') },
  { name: 'schema floor', server: 'schema-floor-server.mjs', setup: onFile('tally.db') },
  {
    name: 'PostgreSQL durable floor',
    server: 'pg-floor-server.mjs',
    setup: async () => {
      const database = await freshPgDatabase(PG_ADMIN_URL, 'tally_floor_test');
      return { env: { FLOOR_PG_URL: database.url }, committed: () => pgCommitted(database.url), drop: database.drop };
    },
  },
];
const serverPath = (server: string) => fileURLToPath(new URL(`../lib/${server}`, import.meta.url));

function startFloor(server: string, dir: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [serverPath(server)], { env: { ...process.env, ...env, FLOOR_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let out = '';
  const ready = new Promise<{ url: string; key: string }>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, key: /^(tl_\S+)$/m.exec(out)![1]! });
    });
    child.once('close', (code) => reject(new Error(`the floor server exited with ${code}: ${out}`)));
  });
  return { child, exited, ready };
}

const post = (url: string, key: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });

const logBody = { provider: 'openai', model: 'm', input: { type: 'chat', messages: [] }, output: { type: 'chat', messages: [] }, request_start_time: 1764230400.1, request_end_time: 1764230401.4, tags: ['a'] };

for (const { name, server, setup } of FLOORS) describe(`the load benchmark's ${name}`, () => {
  it('refuses bad input and unknown requests, and keeps every acknowledged write through kill -9', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'floor-test-'));
    const location = await setup(dir);
    const floor = startFloor(server, dir, location.env);
    let stop = false;
    try {
      const { url, key } = await floor.ready;
      assert.equal((await post(`${url}/library-track-score`, 'tl_wrong', { request_id: 1, score: 5 })).status, 401);
      const logged = await post(`${url}/log-request`, key, logBody);
      assert.equal(logged.status, 201);
      const id = ((await logged.json()) as { id: number }).id;
      assert.equal((await post(`${url}/library-track-score`, key, { request_id: id + 1000, score: 5 })).status, 404);
      assert.equal((await post(`${url}/library-track-score`, key, { request_id: id, score: 101 })).status, 400);
      assert.equal((await post(`${url}/library-track-score`, key, { request_id: id, score: 2.5 })).status, 400);

      const acked: { name: string; value: number }[] = [];
      let seq = 0;
      const writer = async () => {
        while (!stop) {
          const n = seq++;
          try {
            const res = await post(`${url}/library-track-score`, key, { request_id: id, score: n % 101, name: `s${n}` });
            if (res.status === 200) acked.push({ name: `s${n}`, value: n % 101 });
          } catch {
            // the server died with this write unanswered
          }
        }
      };
      const writers = Array.from({ length: 8 }, writer);
      const deadline = Date.now() + 120_000;
      while (acked.length < 300) {
        assert.ok(Date.now() < deadline, `300 acknowledged scores within 120 s, got ${acked.length}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      floor.child.kill('SIGKILL');
      await floor.exited;
      stop = true;
      await Promise.all(writers);

      const db = await location.committed();
      try {
        const lost: typeof acked = [];
        for (const a of acked) if ((await db.score(id, a.name)) !== a.value || (await db.events(id, a.name)) !== 1) lost.push(a);
        assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged scores missing after kill -9`);
        // Nothing refused was written.
        assert.equal(await db.outOfRange(), 0);
      } finally {
        await db.close();
      }
    } finally {
      stop = true;
      if (floor.child.exitCode === null) floor.child.kill('SIGKILL');
      await floor.exited;
      rmSync(dir, { recursive: true, force: true });
      await location.drop();
    }
  });
});
