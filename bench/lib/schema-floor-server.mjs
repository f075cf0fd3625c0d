// The schema floor: the durable floor's design (durable-floor-server.mjs: writes arriving together
// committed in one better-sqlite3 transaction, synchronous=FULL, on the event loop, each answered
// after its commit) doing Tally's own writes. Behind Fastify, it uses Tally's built code for
// what a call must do: the route's body schemas and validator, the shaping of a logged request,
// the store made by Tally's migrations (search indexes, score totals and their triggers, foreign
// keys) and the statements Tally's writer runs (the request checked in SQL, the old score read,
// the score replaced, a history row appended). It leaves out the rest of Tally's request path: the
// API key is compared from memory rather than hashed and checked against the store, and there is
// no write queue, writer thread, Kysely, rate limit, CORS, cookie, NUL or metrics hook. Its rate
// is the most a Fastify server can answer with Tally's schema and writes on this machine, and
// Tally's rate against it is what Tally's own layers cost. Needs `npm run build -w @tally/server`.
import Fastify from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openStore } from '../../packages/server/dist/store/open-store.js';
import { requestRow } from '../../packages/server/dist/store/write-statements.js';
import { openConnection } from '../../packages/server/dist/store/sqlite/connection.js';
import { hotStatements } from '../../packages/server/dist/store/sqlite/hot-statements.js';
import { fromLogRequest } from '../../packages/server/dist/domain/request-shape.js';
import { parseId } from '../../packages/server/dist/domain/ids.js';
import { scoreName } from '../../packages/server/dist/domain/score.js';
import { checkRating } from '../../packages/server/dist/domain/score-schema.js';
import { rulesFromRow } from '../../packages/server/dist/store/score-schemas.js';
import { TallyError, notFound } from '../../packages/server/dist/domain/errors.js';
import { LogRequestBody, TrackScoreBody } from '../../packages/server/dist/schemas/promptlayer.js';
import { TrackOk } from '../../packages/server/dist/schemas/common.js';
import { validatorCompiler } from '../../packages/server/dist/routes/validation.js';

const MAX_BATCH = 1000;
const dir = process.env.FLOOR_DIR ?? mkdtempSync(join(tmpdir(), 'tally-schema-floor-'));
// Tally makes the store (migrations, the default workspace), then steps aside.
const store = await openStore({ dataDir: dir });
const workspace = await store.workspaces.bootstrapDefault();
await store.close();
const workspaceId = workspace.id;
const actor = { id: 'key:1', source: 'api' };

// Tally's connection settings (WAL, the fsync policy, foreign keys) and the statements its writer
// thread runs, prepared once, each giving one value.
const db = openConnection(join(dir, 'tally.db'), 'FULL');
const exec = hotStatements(db);
const run = (statement, params) => exec({ statement, params });

function insertRequest(request) {
  if (request.groupId !== null || request.score) throw new TallyError('invalid_field', 'group_id, score: not written by the schema floor');
  const now = Date.now();
  const id = Number(run('insertRequest', requestRow(workspaceId, request, now)));
  for (const tag of request.tags) run('insertTag', { workspace_id: workspaceId, request_id: id, tag });
  for (const [key, value] of Object.entries(request.metadata)) run('insertMetadata', { workspace_id: workspaceId, request_id: id, key, value });
  return id;
}

function setScore(requestId, name, value) {
  if (run('requireRequest', { request_id: requestId, workspace_id: workspaceId }) === undefined) throw notFound('request_id', 'request');
  // The name's schema and the workspace's strict flag, as Tally checks every rating in its transaction.
  const rating = checkRating(rulesFromRow(run('ratingRules', { workspace_id: workspaceId, name })), name, { value });
  const at = Date.now();
  const old = run('oldScore', { request_id: requestId, name }) ?? null;
  const fields = { label: rating.label, reasons: null, rater: actor.id, schema_version: rating.schemaVersion };
  run('upsertScore', { workspace_id: workspaceId, request_id: requestId, name, value: rating.value, at, actor: actor.id, source: actor.source, comment: null, ...fields });
  run('appendEvent', { workspace_id: workspaceId, request_id: requestId, name, old_value: old, new_value: rating.value, actor: actor.id, source: actor.source, at, rating: rating.value, kind: 'rating', ...fields });
}

/** Writes waiting for the next commit. A write refused by its checks fails alone, as in Tally. */
let pending = [];
const runBatch = db.transaction((batch) =>
  batch.map(({ apply }) => {
    try {
      return { ok: true, value: apply() };
    } catch (error) {
      if (!(error instanceof TallyError)) throw error;
      return { ok: false, error };
    }
  }),
);
function flush() {
  const batch = pending.splice(0, MAX_BATCH);
  if (pending.length > 0) setImmediate(flush);
  let outcomes;
  try {
    outcomes = runBatch(batch);
  } catch (error) {
    for (const p of batch) p.reject(error);
    return;
  }
  batch.forEach((p, i) => (outcomes[i].ok ? p.resolve(outcomes[i].value) : p.reject(outcomes[i].error)));
}
const submit = (apply) =>
  new Promise((resolve, reject) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push({ apply, resolve, reject });
  });

const key = `tl_${randomBytes(16).toString('hex')}`;
const app = Fastify({ logger: false });
app.setValidatorCompiler(validatorCompiler);
app.setErrorHandler((err, _req, reply) => {
  const status = err instanceof TallyError ? err.status : err.validation ? 400 : (err.statusCode ?? 500);
  reply.code(status).send({ success: false, message: err.message });
});
app.addHook('preValidation', async (req) => {
  if (req.headers['x-api-key'] !== key) throw new TallyError('unauthorized', 'x-api-key: not a valid key');
});
app.post('/library-track-score', { schema: { body: TrackScoreBody, response: { 200: TrackOk } } }, async (req) => {
  const requestId = parseId(req.body.request_id, 'request_id');
  const name = scoreName(req.body.name);
  const value = req.body.score;
  await submit(() => setScore(requestId, name, value));
  return { success: true, message: 'score tracked' };
});
app.post('/log-request', { schema: { body: LogRequestBody } }, async (req, reply) => {
  const request = fromLogRequest(req.body);
  const id = await submit(() => insertRequest(request));
  return reply.code(201).send({ id, request_id: id });
});
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(key);
console.log(`Schema floor listening on http://127.0.0.1:${app.server.address().port}`);
process.on('SIGTERM', async () => {
  await app.close();
  db.close();
  if (!process.env.FLOOR_DIR) rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
