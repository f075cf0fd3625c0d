// The PostgreSQL durable floor: the durable floor's design (durable-floor-server.mjs) on PostgreSQL,
// the reference for Tally on PostgreSQL. Bare node:http; the API key, the ownership of request ids
// and the current value of every score kept in memory (this server is the database's only
// writer); writes arriving together committed in one transaction on one connection (group
// commit: while a commit is in flight the next batch gathers), each batch's rows sent as arrays and
// inserted with `unnest` (one statement for the logged requests with their tags and metadata, one
// for the scores and their history rows), synchronous_commit on (PostgreSQL's default), each call
// answered after its commit. Nothing Tally does beyond that (key hashing, schema validation,
// Fastify, search indexes, score totals, several instances) is done, so no service doing the same
// job on the same PostgreSQL can be faster by design.
//
// FLOOR_PG_URL: the (empty) database to use; its tables are made at start.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const MAX_BATCH = 1000;
const url = process.env.FLOOR_PG_URL;
if (!url) throw new Error('FLOOR_PG_URL: the database to use is required');
const client = new pg.Client({ connectionString: url });
await client.connect();
await client.query(`
  create table if not exists requests (id bigserial primary key, provider text, model text, input text, output text, start_ms double precision,
    end_ms double precision, input_tokens integer, output_tokens integer, price double precision, prompt_name text, prompt_version integer, created_at bigint);
  create table if not exists request_tags (request_id bigint, tag text, primary key (request_id, tag));
  create table if not exists request_metadata (request_id bigint, key text, value text, primary key (request_id, key));
  create table if not exists scores (request_id bigint, name text, value integer, updated_at bigint, primary key (request_id, name));
  create table if not exists score_events (id bigserial primary key, request_id bigint, name text, old_value integer, new_value integer, at bigint);
`);

// Requests take their ids from the sequence in the statement that inserts them, so that their tags
// and metadata (given by their place in the batch) go in with them in the same statement.
const INSERT_REQUESTS = `
  with input as (
    select nextval('requests_id_seq') as id, u.*
    from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::int[], $8::int[], $9::float8[], $10::text[], $11::int[])
      with ordinality as u(provider, model, input, output, start_ms, end_ms, input_tokens, output_tokens, price, prompt_name, prompt_version, ord)
  ),
  r as (
    insert into requests (id, provider, model, input, output, start_ms, end_ms, input_tokens, output_tokens, price, prompt_name, prompt_version, created_at)
    select id, provider, model, input, output, start_ms, end_ms, input_tokens, output_tokens, price, prompt_name, prompt_version, $12::bigint from input
  ),
  t as (
    insert into request_tags (request_id, tag)
    select input.id, t.tag from unnest($13::int[], $14::text[]) as t(ord, tag) join input using (ord) on conflict do nothing
  ),
  m as (
    insert into request_metadata (request_id, key, value)
    select input.id, m.key, m.value from unnest($15::int[], $16::text[], $17::text[]) as m(ord, key, value) join input using (ord)
    on conflict (request_id, key) do update set value = excluded.value
  )
  select id from input order by ord`;
// The scores of a batch (the last value of each pair in it) replaced, and a history row for every
// call appended, with the old value each call saw (from memory).
const WRITE_SCORES = `
  with s as (
    insert into scores (request_id, name, value, updated_at)
    select * from unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[])
    on conflict (request_id, name) do update set value = excluded.value, updated_at = excluded.updated_at
  )
  insert into score_events (request_id, name, old_value, new_value, at)
  select * from unnest($5::bigint[], $6::text[], $7::int[], $8::int[], $9::bigint[])`;

const key = `tl_${randomBytes(16).toString('hex')}`;
/** The ids of the requests this server has logged (and committed): the ownership check. */
const owned = new Set();
/** The committed value of each score, by `${request_id} ${name}`: the old value a write replaces. */
const current = new Map();

/** Writes waiting for the next commit. */
let pending = [];
let flushing = false;

async function commit(batch) {
  const logs = batch.filter((w) => w.kind === 'log');
  const scores = batch.filter((w) => w.kind === 'score');
  const now = Date.now();
  const both = logs.length > 0 && scores.length > 0;
  if (both) await client.query('begin');
  try {
    let ids = [];
    if (logs.length > 0) {
      const col = (f) => logs.map((w) => f(w.body));
      const tagOrd = [];
      const tags = [];
      const metaOrd = [];
      const metaKeys = [];
      const metaValues = [];
      logs.forEach((w, i) => {
        for (const tag of new Set(w.body.tags ?? [])) tagOrd.push(i + 1), tags.push(String(tag));
        for (const [k, v] of Object.entries(w.body.metadata ?? {})) metaOrd.push(i + 1), metaKeys.push(k), metaValues.push(String(v));
      });
      const res = await client.query(INSERT_REQUESTS, [
        col((b) => b.provider), col((b) => b.model), col((b) => JSON.stringify(b.input)), col((b) => JSON.stringify(b.output)),
        col((b) => b.request_start_time * 1000), col((b) => b.request_end_time * 1000), col((b) => b.input_tokens ?? null),
        col((b) => b.output_tokens ?? null), col((b) => b.price ?? null), col((b) => b.prompt_name ?? null), col((b) => b.prompt_version_number ?? null),
        now, tagOrd, tags, metaOrd, metaKeys, metaValues,
      ]);
      ids = res.rows.map((r) => Number(r.id));
    }
    let olds = [];
    let latest = new Map();
    if (scores.length > 0) {
      // Old values chain through the batch: a pair written twice sees its first write as old.
      const seen = new Map();
      olds = scores.map((w) => {
        const pair = `${w.requestId} ${w.name}`;
        const old = seen.has(pair) ? seen.get(pair) : (current.get(pair) ?? null);
        seen.set(pair, w.value);
        return old;
      });
      latest = seen;
      const pairs = [...seen.entries()].map(([pair, value]) => {
        const space = pair.indexOf(' ');
        return [pair.slice(0, space), pair.slice(space + 1), value];
      });
      await client.query(WRITE_SCORES, [
        pairs.map((p) => p[0]), pairs.map((p) => p[1]), pairs.map((p) => p[2]), pairs.map(() => now),
        scores.map((w) => w.requestId), scores.map((w) => w.name), olds, scores.map((w) => w.value), scores.map(() => now),
      ]);
    }
    if (both) await client.query('commit');
    for (const [pair, value] of latest) current.set(pair, value);
    logs.forEach((w, i) => {
      owned.add(ids[i]);
      w.answer(ids[i]);
    });
    for (const w of scores) w.answer();
  } catch (err) {
    if (both) await client.query('rollback').catch(() => {});
    for (const w of batch) w.fail(err);
  }
}

async function flush() {
  flushing = true;
  while (pending.length > 0) await commit(pending.splice(0, MAX_BATCH));
  flushing = false;
}
function enqueue(write) {
  pending.push(write);
  if (!flushing) void flush();
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
const fail = (res, status, message) => send(res, status, JSON.stringify({ success: false, message }));

function trackScore(res, b) {
  const requestId = b.request_id;
  if (!Number.isInteger(requestId)) return fail(res, 400, 'request_id: must be an integer');
  if (!Number.isInteger(b.score) || b.score < 0 || b.score > 100) return fail(res, 400, 'score: must be an integer from 0 to 100');
  const name = b.name ?? 'default';
  if (typeof name !== 'string') return fail(res, 400, 'name: must be a string');
  if (!owned.has(requestId)) return fail(res, 404, 'request_id: no such request');
  enqueue({ kind: 'score', requestId, name, value: b.score, answer: () => send(res, 200, '{"success":true}'), fail: () => fail(res, 500, 'the write failed') });
}

function logRequest(res, b) {
  if (typeof b.provider !== 'string' || typeof b.model !== 'string') return fail(res, 400, 'provider, model: must be strings');
  if (typeof b.request_start_time !== 'number' || typeof b.request_end_time !== 'number') return fail(res, 400, 'request_start_time, request_end_time: must be numbers');
  enqueue({ kind: 'log', body: b, answer: (id) => send(res, 201, `{"id":${id},"request_id":${id}}`), fail: () => fail(res, 500, 'the write failed') });
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
  console.log(`PostgreSQL durable floor listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () =>
  server.close(() => {
    client.end().finally(() => process.exit(0));
  }),
);
