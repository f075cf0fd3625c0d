import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore } from '../src/store/open-store.js';
import type { SqlStore } from '../src/store/sql-store.js';
import { BACKENDS, freshLocation } from './helpers/backends.js';
import { startServer, type ServerProcess } from './helpers/process.js';
import { logBody } from './helpers/test-app.js';

/**
 * Crash consistency: concurrent writes of every kind against a real server process, SIGKILL at a
 * random moment, restart, and check the database directly. `TALLY_CRASH_ROUNDS` (default 12) sets
 * the rounds per backend; `TALLY_CRASH_SEED` replays a run's kill moments.
 */
const ROUNDS = Number(process.env.TALLY_CRASH_ROUNDS ?? 12);
const WRITERS = 8;
let seed = Number(process.env.TALLY_CRASH_SEED ?? Date.now() % 1_000_000);
const SEED = seed;
const random = () => {
  // mulberry32: a tiny seeded generator, so a failing run can be replayed.
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

interface LoggedRequest {
  id: number;
  token: string;
  score: number;
}

/** What the clients know: every acknowledged write, and the one write per writer left unanswered. */
class Ledger {
  logs: LoggedRequest[] = [];
  /** `${requestId}|${name}` -> last acknowledged value, and any later value sent but unanswered. */
  scores = new Map<string, { acked: number | null; pending: number[] }>();
  metadata = new Map<string, { acked: string | null; pending: string[] }>();
  acked = 0;
  unanswered = 0;
}

async function postJson(url: string, key: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** One writer's loop until the server dies: a mix of logs (tags, metadata, score), scores and metadata. */
async function writer(server: ServerProcess, key: string, ledger: Ledger, w: number, round: number): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    const roll = random();
    const target = ledger.logs.length > 0 ? ledger.logs[Math.floor(random() * ledger.logs.length)]! : null;
    try {
      if (roll < 0.4 || !target) {
        const token = `r${round}w${w}i${i}`;
        const score = Math.floor(random() * 101);
        const res = await postJson(`${server.url}/log-request`, key, logBody({ tags: [`${token}-a`, `${token}-b`], metadata: { token, half: `${token}-m` }, score, score_name: 'log' }));
        if (res.status !== 201) throw new Error(`log-request answered ${res.status}: ${JSON.stringify(res.body)}`);
        ledger.logs.push({ id: res.body.id as number, token, score });
        ledger.acked++;
      } else if (roll < 0.75) {
        // Each writer has names of its own, so the order of its writes to one score is known.
        const k = `${target.id}|w${w}-${i % 3}`;
        const value = Math.floor(random() * 101);
        const entry = ledger.scores.get(k) ?? { acked: null, pending: [] };
        ledger.scores.set(k, entry);
        entry.pending.push(value);
        const res = await postJson(`${server.url}/rest/track-score`, key, { request_id: target.id, score: value, name: `w${w}-${i % 3}` });
        if (res.status !== 200) throw new Error(`track-score answered ${res.status}: ${JSON.stringify(res.body)}`);
        entry.acked = value;
        entry.pending = [];
        ledger.acked++;
      } else {
        const k = `${target.id}|w${w}`;
        const value = `r${round}i${i}`;
        const entry = ledger.metadata.get(k) ?? { acked: null, pending: [] };
        ledger.metadata.set(k, entry);
        entry.pending.push(value);
        const res = await postJson(`${server.url}/rest/track-metadata`, key, { request_id: target.id, metadata: { [`w${w}`]: value } });
        if (res.status !== 200) throw new Error(`track-metadata answered ${res.status}: ${JSON.stringify(res.body)}`);
        entry.acked = value;
        entry.pending = [];
        ledger.acked++;
      }
    } catch (err) {
      if (server.child.exitCode === null && server.child.signalCode === null && !(err instanceof TypeError)) throw err;
      // The server was killed: this write was never acknowledged.
      ledger.unanswered++;
      return;
    }
  }
}

interface Findings {
  lost: string[];
  halfWritten: string[];
  historyMismatches: string[];
}

/** Reads the database directly (not through HTTP) and checks the ledger and the invariants. */
async function verify(store: SqlStore, workspaceId: number, ledger: Ledger): Promise<Findings> {
  const db = store.db;
  const f: Findings = { lost: [], halfWritten: [], historyMismatches: [] };
  const requests = await db.selectFrom('requests').select('id').where('workspace_id', '=', workspaceId).execute();
  const ids = new Set(requests.map((r) => Number(r.id)));
  const tags = new Map<number, string[]>();
  for (const t of await db.selectFrom('request_tags').select(['request_id', 'tag']).where('workspace_id', '=', workspaceId).execute()) {
    tags.set(Number(t.request_id), [...(tags.get(Number(t.request_id)) ?? []), t.tag]);
  }
  const meta = new Map<number, Map<string, string>>();
  for (const m of await db.selectFrom('request_metadata').select(['request_id', 'key', 'value']).where('workspace_id', '=', workspaceId).execute()) {
    const map = meta.get(Number(m.request_id)) ?? new Map<string, string>();
    map.set(m.key, m.value);
    meta.set(Number(m.request_id), map);
  }
  const scores = new Map<string, number>();
  for (const s of await db.selectFrom('scores').select(['request_id', 'name', 'value']).where('workspace_id', '=', workspaceId).execute()) {
    scores.set(`${Number(s.request_id)}|${s.name}`, s.value);
  }
  const lastEvent = new Map<string, number | null>();
  for (const e of await db.selectFrom('score_events').select(['request_id', 'name', 'new_value']).where('workspace_id', '=', workspaceId).orderBy('id').execute()) {
    lastEvent.set(`${Number(e.request_id)}|${e.name}`, e.new_value);
  }

  // All or nothing: every request in the database (acknowledged or not) has both tags, both
  // metadata entries of its log call and its score, with a history entry.
  for (const id of ids) {
    const t = tags.get(id) ?? [];
    const m = meta.get(id);
    const token = m?.get('token');
    if (t.length !== 2 || !token || m?.get('half') !== `${token}-m` || !t.includes(`${token}-a`) || !t.includes(`${token}-b`) || !scores.has(`${id}|log`)) {
      f.halfWritten.push(`request ${id}: tags ${JSON.stringify(t)}, metadata ${JSON.stringify(m ? [...m] : null)}, log score ${scores.get(`${id}|log`)}`);
    }
  }
  for (const r of ledger.logs) {
    if (!ids.has(r.id)) f.lost.push(`request ${r.id}`);
    else if (meta.get(r.id)?.get('token') !== r.token) f.lost.push(`request ${r.id} token`);
    // Only its log call writes the score named `log`: the stored value is the acknowledged one.
    else if (scores.get(`${r.id}|log`) !== r.score) f.lost.push(`request ${r.id} log score: ${scores.get(`${r.id}|log`)}, acknowledged ${r.score}`);
  }
  for (const [k, e] of ledger.scores) {
    const v = scores.get(k);
    const allowed = e.acked === null ? [undefined, ...e.pending] : [e.acked, ...e.pending];
    if (!allowed.includes(v)) f.lost.push(`score ${k}: ${v}, expected one of ${JSON.stringify(allowed)}`);
  }
  for (const [k, e] of ledger.metadata) {
    const [id, mkey] = k.split('|') as [string, string];
    const v = meta.get(Number(id))?.get(mkey);
    const allowed = e.acked === null ? [undefined, ...e.pending] : [e.acked, ...e.pending];
    if (!allowed.includes(v)) f.lost.push(`metadata ${k}: ${v}, expected one of ${JSON.stringify(allowed)}`);
  }
  // History is the truth: each current score equals its last history entry, and no score exists
  // without one (or lingers after a deletion).
  for (const [k, v] of scores) if (lastEvent.get(k) !== v) f.historyMismatches.push(`${k}: current ${v}, last history ${lastEvent.get(k)}`);
  for (const [k, v] of lastEvent) if (v !== null && !scores.has(k)) f.historyMismatches.push(`${k}: history ends at ${v} but no current score`);
  return f;
}

for (const backend of BACKENDS) {
  describe(`crash consistency under SIGKILL [${backend}]`, () => {
    it(`loses no acknowledged write and half-writes nothing over ${ROUNDS} random kills`, { timeout: 30 * 60_000 }, async () => {
      const loc = await freshLocation(backend);
      const store = (await openStore({ databaseUrl: loc.databaseUrl, dataDir: loc.dataDir })) as SqlStore;
      const ledger = new Ledger();
      let key = '';
      let workspaceId = 0;
      const totals: Findings = { lost: [], halfWritten: [], historyMismatches: [] };
      const started = Date.now();
      try {
        for (let round = 0; round <= ROUNDS; round++) {
          const server = await startServer(loc.args);
          try {
            if (round === 0) {
              key = server.firstKey!;
              workspaceId = (await store.workspaces.find('default'))!.id;
            }
            // After every restart: check everything written so far.
            const f = await verify(store, workspaceId, ledger);
            totals.lost.push(...f.lost.map((x) => `round ${round}: ${x}`));
            totals.halfWritten.push(...f.halfWritten.map((x) => `round ${round}: ${x}`));
            totals.historyMismatches.push(...f.historyMismatches.map((x) => `round ${round}: ${x}`));
            if (round === ROUNDS) break;
            // The kill comes after a random number of this round's acknowledgements, and a random
            // few milliseconds more, so it lands anywhere in a batch whatever the machine's load.
            const ackedBefore = ledger.acked;
            const wanted = 5 + Math.floor(random() * 40);
            const writers = Array.from({ length: WRITERS }, (_, w) => writer(server, key, ledger, w, round));
            const deadline = Date.now() + 30_000;
            while (ledger.acked - ackedBefore < wanted) {
              assert.ok(Date.now() < deadline, `round ${round}: ${ledger.acked - ackedBefore} of ${wanted} writes acknowledged within 30 s`);
              await new Promise((r) => setTimeout(r, 2));
            }
            await new Promise((r) => setTimeout(r, random() * 20));
            server.child.kill('SIGKILL');
            await server.exited;
            await Promise.all(writers);
          } finally {
            if (server.child.exitCode === null && server.child.signalCode === null) {
              server.child.kill('SIGKILL');
              await server.exited;
            }
          }
        }
      } finally {
        await store.close();
        await loc.drop();
      }
      const lost = totals.lost.length;
      console.log(
        `crash consistency [${backend}] seed ${SEED}: ${ROUNDS} rounds in ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
          `writes acknowledged ${ledger.acked} (${ledger.logs.length} logs, ${ledger.scores.size} scores, ${ledger.metadata.size} metadata keys), ` +
          `in flight at a kill ${ledger.unanswered}, writes lost ${lost}, half-written ${totals.halfWritten.length}, history mismatches ${totals.historyMismatches.length}`,
      );
      assert.deepEqual(totals.lost.slice(0, 10), [], `${lost} acknowledged writes lost`);
      assert.deepEqual(totals.halfWritten.slice(0, 10), []);
      assert.deepEqual(totals.historyMismatches.slice(0, 10), []);
      assert.ok(ledger.acked >= ROUNDS * 5, `only ${ledger.acked} writes acknowledged`);
      assert.ok(ledger.unanswered > 0, 'no write was in flight at any kill');
    });
  });
}
