// The durable floor: the least a Node.js service can do to answer the same calls with every answer
// durable. It is the throwaway design, run here so that its figure is measured in the same
// run as the baseline and Tally rather than quoted: bare node:http; the API key and the ownership
// of request ids checked from memory; writes arriving together committed in one better-sqlite3
// transaction (WAL, synchronous=FULL, so one fsync a batch, on the event loop); each call answered
// after its commit. A score write reads the old value, replaces the score and appends a history
// row, as Tally's does. Everything Tally does beyond that is left out (hashing the key, schema
// validation, Fastify, search indexes, score totals, a writer thread), which can only make this
// server faster than any service that does the same job.
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';

const MAX_BATCH = 1000;
// FLOOR_DIR: where to keep the database (a test reads it after killing the server); otherwise a
// temporary folder, removed at exit.
const dir = process.env.FLOOR_DIR ?? mkdtempSync(join(tmpdir(), 'tally-floor-'));
const db = new Database(join(dir, 'floor.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(`
  create table requests (id integer primary key, provider text, model text, input text, output text, start_ms real, end_ms real,
    input_tokens integer, output_tokens integer, price real, created_at integer);
  create table request_tags (request_id integer, tag text, primary key (request_id, tag));
  create table request_metadata (request_id integer, key text, value text, primary key (request_id, key));
  create table scores (request_id integer, name text, value integer, updated_at integer, primary key (request_id, name));
  create table score_events (id integer primary key, request_id integer, name text, old_value integer, new_value integer, at integer);
`);
const insertRequest = db.prepare('insert into requests (provider, model, input, output, start_ms, end_ms, input_tokens, output_tokens, price, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
const insertTag = db.prepare('insert or ignore into request_tags (request_id, tag) values (?, ?)');
const insertMetadata = db.prepare('insert or replace into request_metadata (request_id, key, value) values (?, ?, ?)');
const oldScore = db.prepare('select value from scores where request_id = ? and name = ?').pluck();
const upsertScore = db.prepare('insert into scores (request_id, name, value, updated_at) values (?, ?, ?, ?) on conflict (request_id, name) do update set value = excluded.value, updated_at = excluded.updated_at');
const appendEvent = db.prepare('insert into score_events (request_id, name, old_value, new_value, at) values (?, ?, ?, ?, ?)');

const key = `tl_${randomBytes(16).toString('hex')}`;
/** The ids of the requests this server has logged (and committed): the ownership check. */
const owned = new Set();

/** Writes waiting for the next commit: [apply(), answer(result)]. */
let pending = [];
const runBatch = db.transaction((batch) => batch.map(([apply]) => apply()));
function flush() {
  const batch = pending.splice(0, MAX_BATCH);
  if (pending.length > 0) setImmediate(flush);
  let results;
  try {
    results = runBatch(batch);
  } catch (err) {
    for (const [, , fail] of batch) fail(err);
    return;
  }
  batch.forEach(([, answer], i) => answer(results[i]));
}
const enqueue = (apply, answer, fail) => {
  if (pending.length === 0) setImmediate(flush);
  pending.push([apply, answer, fail]);
};

const send = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};
const fail = (res, status, message) => send(res, status, JSON.stringify({ success: false, message }));

function trackScore(res, b) {
  const id = b.request_id;
  const name = b.name ?? 'default';
  if (!Number.isSafeInteger(id) || !owned.has(id)) return fail(res, 404, 'request_id: no such request');
  if (!Number.isInteger(b.score) || b.score < 0 || b.score > 100) return fail(res, 400, 'score: must be an integer from 0 to 100');
  if (typeof name !== 'string' || name.length === 0 || name.length > 128) return fail(res, 400, 'name: must be a non-empty string');
  enqueue(
    () => {
      const now = Date.now();
      const old = oldScore.get(id, name) ?? null;
      upsertScore.run(id, name, b.score, now);
      appendEvent.run(id, name, old, b.score, now);
    },
    () => send(res, 200, '{"success":true,"message":"score tracked"}'),
    () => fail(res, 500, 'the write failed'),
  );
}

function logRequest(res, b) {
  if (typeof b.provider !== 'string' || typeof b.model !== 'string') return fail(res, 400, 'provider, model: must be strings');
  if (typeof b.request_start_time !== 'number' || typeof b.request_end_time !== 'number') return fail(res, 400, 'request_start_time, request_end_time: must be numbers');
  enqueue(
    () => {
      const id = Number(
        insertRequest.run(b.provider, b.model, JSON.stringify(b.input), JSON.stringify(b.output), b.request_start_time * 1000, b.request_end_time * 1000,
          b.input_tokens ?? null, b.output_tokens ?? null, b.price ?? null, Date.now()).lastInsertRowid,
      );
      for (const tag of b.tags ?? []) insertTag.run(id, String(tag));
      for (const [k, v] of Object.entries(b.metadata ?? {})) insertMetadata.run(id, k, String(v));
      return id;
    },
    (id) => {
      owned.add(id);
      send(res, 201, `{"id":${id},"request_id":${id}}`);
    },
    () => fail(res, 500, 'the write failed'),
  );
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.headers['x-api-key'] !== key) return fail(res, 401, 'x-api-key: not a valid key');
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return fail(res, 400, 'body: is not valid JSON');
    }
    if (typeof body !== 'object' || body === null) return fail(res, 400, 'body: must be an object');
    if (req.url === '/library-track-score') return trackScore(res, body);
    if (req.url === '/log-request') return logRequest(res, body);
    fail(res, 404, 'no such route');
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(key);
  console.log(`Durable floor listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () =>
  server.close(() => {
    db.close();
    if (!process.env.FLOOR_DIR) rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }),
);
