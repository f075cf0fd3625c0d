import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { SqlStore } from '../src/store/sql-store.js';
import { BACKENDS } from './helpers/backends.js';
import { shardLabel, shardOf } from './helpers/shard.js';
import { addDashboardUser, browserHeaders, signIn, type Browser } from './helpers/dashboard-users.js';
import { listRoutes, queryKeys, queryParams, type RouteEntry } from './helpers/routes.js';
import { addApiKey, addWorkspace, createTestApp, logRequest, type TestApp, type TestWorkspace } from './helpers/test-app.js';

/**
 * A workspace is a wall: every route the app serves (read from the router), called by an API key
 * or a signed-in dashboard user of either workspace, or by a user who is a member of both and has
 * switched to one of them, with every query of QUERIES where the route reads a query string. All of
 * them on every run, none picked at random. Checked:
 * - after each route and caller, the other workspace's rows are unchanged;
 * - no answer contains the other workspace's markers;
 * - an id of the other workspace (request, group, key, workspace, a member's email) answers byte
 *   for byte like one that does not exist;
 * - every read answers byte for byte the same before and after the other workspace's data changes
 *   (new requests and scores under the same names, models and tags as mine), so a count, a mean
 *   or a list that takes in rows of another workspace is caught even though it carries no marker.
 */
const PASSWORD = 'correct horse battery';
const WRONG_PASSWORD = 'not the password at all';
const NOBODY = 'nobody@example.com';
const NOBODY_MODEL = 'nobody-model';
// Routes that end the session the browser carries (logout; login replaces it): each call of these
// gets a session of its own, so the actor's main session outlives the operation.
const ENDS_SESSION = new Set(['POST /ui/api/logout', 'POST /ui/api/login']);

/**
 * The query strings every route that reads one is called with: markers of either side, and names,
 * models and tags both sides use, for every filter, grouping and cohort the reads take.
 */
const QUERIES = [
  '',
  '?limit=50',
  '?q=MARK',
  '?name=OTHERMARK-score',
  '?name=ALPHAMARK-score',
  '?per_page=25&page=1',
  '?format=csv',
  '?format=jsonl',
  '?tag=OTHERMARK-tag',
  '?tag=ALPHAMARK-tag',
  '?group_by=tag',
  '?group_by=model',
  '?group_by=prompt',
  ...['ALPHAMARK', 'OTHERMARK'].map((m) => `?name=${m}-score&a.model=${m}-model&b.prompt_name=${m}-prompt`),
  '?name=shared-score',
  '?name=shared-score&buckets=5&interval=hour',
  '?name=shared-score&group_by=model',
  '?name=shared-score&group_by=tag',
  '?model=shared-a',
  '?tag=shared-tag&format=jsonl',
  '?has_score=shared-score',
  '?prompt_name=shared-prompt&sort_by=latency_ms',
  '?name=shared-score&a.model=shared-a&b.model=shared-b',
  '?name=shared-score&a.tag=shared-tag&b.prompt_name=shared-prompt',
  '?name=shared-score&group_by=metadata.shared',
  '?name=shared-score&x=cost&model=shared-a&bins=2',
];
/**
 * The queries a route is called with: the bare call, and every query that sets a parameter the
 * route reads, as its OpenAPI description lists them. A parameter a route does not read cannot
 * change its answer; a route that read one it does not list would be a defect of the description.
 */
const queriesFor = (route: RouteEntry, params: Map<string, Set<string>>) => {
  const reads = params.get(`${route.method} ${route.url}`);
  if (reads === undefined) return [''];
  return QUERIES.filter((q) => q === '' || queryKeys(q).some((k) => reads.has(k)));
};

interface DashboardUser {
  userId: number;
  email: string;
  browser: Browser;
}

interface Side {
  ws: TestWorkspace;
  marker: string;
  requestIds: number[];
  groupId: number;
  /** A key labelled with the marker: what a foreign revoke would hit. */
  labelledKeyId: number;
  /** A dashboard user who is a member of this workspace only. */
  user: DashboardUser;
  /** Its review queue, webhook and alert: what the routes under their own ids take. */
  queueId: number;
  webhookId: number;
  alertId: number;
}

type ActorKind = 'key' | 'session' | 'both-member';
/** Who acts, and in which workspace (0: alpha, 1: other). A both-member switches there first. */
interface Actor {
  kind: ActorKind;
  in: 0 | 1;
}
const ACTORS: Actor[] = (['key', 'session', 'both-member'] as const).flatMap((kind) => [{ kind, in: 0 as const }, { kind, in: 1 as const }]);

/** The ids an operation puts into paths and bodies. */
interface Target {
  requestId: number;
  queueId: number;
  webhookId: number;
  alertId: number;
  /** A model with a price of the workspace's own. */
  model: string;
  groupId: number;
  keyId: number;
  workspaceId: number;
  email: string;
  password: string;
  name: string;
}

/** The strings a request carried (path segments, query values, body strings): an answer may quote these. */
function sentStrings(url: string, payload: unknown): string[] {
  const [path = '', query = ''] = url.split('?');
  const leaves = (v: unknown): string[] => (typeof v === 'string' ? [v] : typeof v === 'object' && v !== null ? Object.values(v).flatMap(leaves) : []);
  return [...path.split('/').map(decodeURIComponent), ...new URLSearchParams(query).values(), ...leaves(payload)];
}

/**
 * Every row of a workspace in every table that has a workspace_id (last_used_at aside), its
 * members' user rows and its workspace row. The acting user's own sessions and user row are left
 * out: signing in and switching are theirs to change, wherever their session points.
 */
const workspaceTables = new WeakMap<SqlStore, { name: string }[]>();

async function snapshot(store: SqlStore, backend: string, workspaceId: number, actorUserId: number | null): Promise<string> {
  const db = store.db;
  // The tables are the same for every snapshot of a store; information_schema is slow to ask.
  let tables = workspaceTables.get(store);
  if (tables === undefined) {
    tables =
      backend === 'sqlite'
        ? (await sql<{ name: string }>`select m.name from sqlite_master m join pragma_table_info(m.name) p where m.type = 'table' and p.name = 'workspace_id' order by m.name`.execute(db)).rows
        : (await sql<{ name: string }>`select table_name as name from information_schema.columns where table_schema = 'public' and column_name = 'workspace_id' order by table_name`.execute(db)).rows;
    workspaceTables.set(store, tables);
  }
  const notActor = (column: string) => (actorUserId === null ? '' : ` and ${column} <> ${actorUserId}`);
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables) {
    const rows = (await sql.raw<Record<string, unknown>>(`select * from "${name}" where workspace_id = ${workspaceId}${name === 'sessions' ? notActor('user_id') : ''} order by 1`).execute(db)).rows;
    out[name] = rows.map((r) => ({ ...r, last_used_at: undefined }));
  }
  out.users = (await sql.raw<Record<string, unknown>>(`select u.* from users u join memberships m on m.user_id = u.id where m.workspace_id = ${workspaceId}${notActor('u.id')} order by u.id`).execute(db)).rows;
  out.workspaces = (await sql.raw<Record<string, unknown>>(`select * from workspaces where id = ${workspaceId}`).execute(db)).rows;
  return JSON.stringify(out);
}

for (const backend of BACKENDS) {
  describe(`workspace isolation on every route, by keys and dashboard users [${backend}]${shardLabel()}`, () => {
    let t: TestApp;
    let routes: RouteEntry[];
    let a: Side;
    let b: Side;
    let both: DashboardUser;
    let missingId = 0;
    let params = new Map<string, Set<string>>();
    const ops: Record<ActorKind, number> = { key: 0, session: 0, 'both-member': 0 };
    let reads = 0;
    before(async () => {
      // A stand-in for the built dashboard, so its pages answer whether or not it was built here.
      const dashboardDir = mkdtempSync(join(tmpdir(), 'tally-iso-ui-'));
      mkdirSync(join(dashboardDir, 'assets'));
      writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><title>Tally</title>');
      // No webhook worker or alert scheduler: they would change the other workspace's rows between snapshots.
      t = await createTestApp(backend, { rateLimitPerKey: 0, authFailuresPerMinute: 0, dashboardDir, webhookPollMs: 0, alertIntervalMs: 0 });
      routes = shardOf(listRoutes(t.app).filter((r) => !r.url.startsWith('/docs') && r.url !== '/openapi.json' && r.url !== '/metrics'));
      params = await queryParams(t.app);
      // Every route of the JSON API is described, so none is called with the bare query alone by mistake.
      for (const r of routes) if (r.url.startsWith('/v1/') || r.url.startsWith('/api/')) assert.ok(params.has(`${r.method} ${r.url}`), `${r.method} ${r.url} is in the OpenAPI document`);
      // Workspace names and emails carry the markers too, so a leaked name or member is seen.
      const seed = async (marker: string, sharedBase: number): Promise<Side> => {
        const ws = await addWorkspace(t.store, `${marker}-ws`);
        const requestIds: number[] = [];
        for (let i = 0; i < 3; i++) {
          requestIds.push(await logRequest(t, { model: `${marker}-model`, tags: [`${marker}-tag`], metadata: { [`${marker}-key`]: `${marker}-value` }, score: 40 + i, score_name: `${marker}-score`, prompt_name: `${marker}-prompt` }, ws.key));
        }
        // Requests under names both workspaces use: what a query missing its workspace condition
        // would count in, with no marker to give it away. The two sides score them differently.
        for (const [i, model] of ['shared-a', 'shared-a', 'shared-b', 'shared-b'].entries()) {
          await logRequest(t, { model, tags: ['shared-tag'], prompt_name: 'shared-prompt', score: sharedBase + i * 7, score_name: 'shared-score' }, ws.key);
        }
        const g = await t.post('/create-group', {}, { key: ws.key });
        const labelled = await addApiKey(t.store, ws.workspace.id, `${marker}-label`);
        const user = await addDashboardUser(t, ws.workspace, `user@${marker.toLowerCase()}.example`, PASSWORD);
        // What lives under ids and names of its own: a schema, a queue, a webhook, an alert and a price,
        // each carrying the marker, so a read that crosses over is seen.
        const made = async (method: 'POST' | 'PUT', url: string, payload: object) => {
          const res = await t.inject({ method, url, headers: { 'x-api-key': ws.key }, payload });
          assert.ok(res.statusCode === 200 || res.statusCode === 201, `${method} ${url}: ${res.body}`);
          return res.json() as Record<string, { id: number }>;
        };
        await made('PUT', `/v1/score-schemas/${marker}-score`, { kind: 'numeric', min: 0, max: 100, rubric: `${marker} rubric` });
        const queue = await made('POST', '/v1/review-queues', { name: `${marker}-queue`, score_name: `${marker}-score`, raters_per_item: 1, instructions: `${marker} instructions` });
        const webhook = await made('POST', '/v1/webhooks', { url: `http://127.0.0.1:9/${marker}`, events: ['score.created'] });
        const alert = await made('POST', '/v1/alerts', { name: `${marker}-alert`, score_name: `${marker}-score`, window: '1h', min_count: 10, threshold: 60, direction: 'below' });
        await made('PUT', `/v1/model-prices/${marker}-model`, { input: 1, output: 2 });
        return { ws, marker, requestIds, groupId: (g.json() as { id: number }).id, labelledKeyId: labelled.keyId, user, queueId: queue.queue!.id, webhookId: webhook.webhook!.id, alertId: alert.alert!.id };
      };
      a = await seed('ALPHAMARK', 10);
      b = await seed('OTHERMARK', 60);
      await addDashboardUser(t, a.ws.workspace, 'both@example.com', PASSWORD);
      both = await addDashboardUser(t, b.ws.workspace, 'both@example.com', PASSWORD);
      missingId = Math.max(...[a, b].flatMap((s) => [...s.requestIds, s.groupId, s.labelledKeyId, s.ws.workspace.id, s.queueId, s.webhookId, s.alertId])) + 100_000;
    });
    after(async () => {
      const total = ops.key + ops.session + ops['both-member'];
      console.log(
        `isolation [${backend}]${shardLabel()}: ${total} calls over ${routes.length} routes (by keys ${ops.key}, by single-workspace users ${ops.session}, by a member of both ${ops['both-member']}), each compared foreign against missing ids; ${reads} reads compared before and after the other workspace changed`,
      );
      await t.close();
    });

    const bodyFor = (route: RouteEntry, x: Target, label: string): unknown => {
      if (route.method === 'GET' || route.method === 'DELETE' || route.url === '/ui/api/logout') return undefined;
      if (route.url === '/ui/api/session/workspace') return { workspace_id: x.workspaceId };
      if (route.url === '/ui/api/login') return { email: x.email, password: x.password };
      if (route.url === '/ui/api/setup/:token') return { password: PASSWORD };
      if (route.url === '/ui/api/keys') return { label };
      if (route.url === '/v1/scores/batch') return { items: [{ request_id: x.requestId, name: x.name, score: 7 }] };
      if (route.url === '/v1/requests/search') return { q: 'MARK', limit: 50 };
      if (route.url === '/v1/requests/:id/scores/:name') return { score: 9 };
      if (route.url.includes('batch')) return { items: [{ request_id: x.requestId, name: x.name, value: 7 }] };
      if (route.url.includes('search')) return { q: 'MARK', filter_group: { logic: 'AND', filters: [] } };
      return { request_id: x.requestId, group_id: x.groupId, score: 9, name: x.name, metadata: { k: 'v' }, prompt_name: 'p', prompt_input_variables: {}, version: 1 };
    };

    /** The id in the path (or the switch body) that a foreign or missing target varies. */
    const primaryId = (route: RouteEntry, x: Target) => {
      if (route.url.startsWith('/ui/api/keys/')) return x.keyId;
      if (route.url === '/ui/api/session/workspace') return x.workspaceId;
      if (route.url.startsWith('/v1/review-queues/:id')) return x.queueId;
      if (route.url.startsWith('/v1/webhooks/:id')) return x.webhookId;
      if (route.url.startsWith('/v1/alerts/:id')) return x.alertId;
      return x.requestId;
    };

    const call = async (route: RouteEntry, who: { key: string } | { email: string; browser: Browser }, x: Target, label: string, query: string) => {
      const url =
        route.url
          .replace(/:request_id/g, String(x.requestId))
          .replace(/:id\b/g, String(primaryId(route, x)))
          .replace(/:name/g, encodeURIComponent(x.name))
          .replace(/:model/g, encodeURIComponent(x.model))
          .replace(/:[a-z_]+/g, '1')
          .replace(/:token/g, 'x')
          .replace(/\*/g, 'x') + query;
      const payload = bodyFor(route, x, label);
      const headers = 'key' in who ? { 'x-api-key': who.key } : browserHeaders(ENDS_SESSION.has(`${route.method} ${route.url}`) ? await signIn(t, who.email, PASSWORD) : who.browser);
      const res = await t.inject({ method: route.method as 'GET', url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
      return Object.assign(res, { sent: sentStrings(url, payload) });
    };

    const sides = (actor: Actor): [Side, Side] => (actor.in === 0 ? [a, b] : [b, a]);
    const userOf = (actor: Actor) => (actor.kind === 'both-member' ? both : sides(actor)[0].user);
    const whoOf = (actor: Actor) => (actor.kind === 'key' ? { key: sides(actor)[0].ws.key } : { email: userOf(actor).email, browser: userOf(actor).browser });
    const describeCall = (route: RouteEntry, query: string, actor: Actor) => `${route.method} ${route.url}${query} as ${actor.kind} in ${sides(actor)[0].marker}`;

    /** A member of both works in the workspace it switched to: switch it to the actor's. */
    const switchBoth = async (actor: Actor) => {
      if (actor.kind !== 'both-member') return;
      const id = sides(actor)[0].ws.workspace.id;
      const sw = await t.inject({ method: 'PUT', url: '/ui/api/session/workspace', headers: browserHeaders(both.browser), payload: { workspace_id: id } });
      assert.equal(sw.statusCode, 200, `switch to ${id}: ${sw.body}`);
      assert.equal((sw.json() as { workspace: { id: number } }).workspace.id, id);
    };

    /** My own ids; the revoke route gets a throwaway key, so my key stays live. */
    const ownTarget = async (route: RouteEntry, actor: Actor, pick: number): Promise<Target> => {
      const me = sides(actor)[0];
      const keyId = route.method === 'DELETE' && route.url === '/ui/api/keys/:id' ? (await addApiKey(t.store, me.ws.workspace.id, `${me.marker}-spare`)).keyId : me.labelledKeyId;
      return { requestId: me.requestIds[pick % me.requestIds.length]!, groupId: me.groupId, keyId, workspaceId: me.ws.workspace.id, email: userOf(actor).email, password: PASSWORD, name: `${me.marker}-score`, queueId: me.queueId, webhookId: me.webhookId, alertId: me.alertId, model: `${me.marker}-model` };
    };

    const readRoutes = () => routes.filter((r) => r.method === 'GET' || (r.method === 'POST' && r.url.includes('search')));

    // Values that change from call to call whatever the data: durations, clocks, a key's last use.
    const volatile = (body: string) => body.replace(/"(took|took_ms|generated_at|last_used_at|expires_at|now)":("[^"]*"|[^,}]*)/g, '"$1":<volatile>');

    /** Every read by every caller of a side, with every query, answered: route and query to status and body. */
    const readAll = async (side: 0 | 1): Promise<Map<string, string>> => {
      const out = new Map<string, string>();
      for (const actor of ACTORS.filter((x) => x.in === side)) {
        await switchBoth(actor);
        for (const route of readRoutes()) {
          for (const query of queriesFor(route, params)) {
            const res = await call(route, whoOf(actor), await ownTarget(route, actor, 0), `${sides(actor)[0].marker}-made`, query);
            reads++;
            out.set(describeCall(route, query, actor), `${res.statusCode} ${volatile(res.body)}`);
          }
        }
      }
      return out;
    };

    /** The other side's data changes under the names both use: new requests, new and changed scores. */
    const changeData = async (side: Side) => {
      for (const [model, score] of [['shared-a', 0], ['shared-b', 100], ['shared-a', 100], ['shared-b', 3]] as const) {
        await logRequest(t, { model, tags: ['shared-tag', 'extra-tag'], prompt_name: 'shared-prompt', score, score_name: 'shared-score', metadata: { shared: 'yes' } }, side.ws.key);
      }
      for (const id of side.requestIds) {
        const res = await t.post('/rest/track-score', { request_id: id, score: 99, name: 'shared-score' }, { key: side.ws.key });
        assert.equal(res.statusCode, 200, res.body);
      }
    };

    it('answers every read byte for byte the same while the other workspace changes its counts and means', { timeout: 20 * 60_000 }, async () => {
      for (const [mine, theirs] of [[0, b], [1, a]] as const) {
        const before = await readAll(mine);
        await changeData(theirs);
        const after = await readAll(mine);
        assert.equal(after.size, before.size);
        for (const [what, answer] of before) {
          assert.equal(after.get(what), answer, `${what}: the answer changed when only the other workspace's data did`);
        }
      }
    });

    it('lets neither keys nor dashboard users read, change or detect the other workspace, whatever they call', { timeout: 20 * 60_000 }, async () => {
      let pick = 0;
      for (const route of routes) {
        for (const actor of ACTORS) {
          const [me, them] = sides(actor);
          const user = userOf(actor);
          const who = whoOf(actor);
          await switchBoth(actor);
          const theirsBefore = await snapshot(t.store as SqlStore, backend, them.ws.workspace.id, actor.kind === 'key' ? null : user.userId);
          for (const query of queriesFor(route, params)) {
            ops[actor.kind]++;
            pick++;
            const what = describeCall(route, query, actor);
            const label = `${me.marker}-made`;
            const foreign: Target = {
              requestId: them.requestIds[pick % them.requestIds.length]!,
              groupId: them.groupId,
              keyId: them.labelledKeyId,
              queueId: them.queueId,
              webhookId: them.webhookId,
              alertId: them.alertId,
              model: `${them.marker}-model`,
              // A member of both may switch to either, so its foreign workspace is one it is not in.
              workspaceId: actor.kind === 'both-member' ? t.alpha.workspace.id : them.ws.workspace.id,
              email: them.user.email,
              password: WRONG_PASSWORD,
              name: `${them.marker}-score`,
            };
            const missing: Target = { ...foreign, requestId: missingId, groupId: missingId, keyId: missingId, workspaceId: missingId, queueId: missingId, webhookId: missingId, alertId: missingId, model: NOBODY_MODEL, email: NOBODY };
            const own = await ownTarget(route, actor, pick);

            const foreignRes = await call(route, who, foreign, label, query);
            const missingRes = await call(route, who, missing, label, query);
            // A foreign id answers exactly like a missing one (the id itself may be echoed back).
            // Fresh ids, secrets and times of rows the call itself creates differ from call to call.
            const fid = String(primaryId(route, foreign));
            // A rate limit's wait counts down between the two calls.
            const norm = (s: string) =>
              s
                .split(fid)
                .join('<id>')
                .replace(/"(id|took|at|generated_at|key|prefix|created_at|secret_id|rotated_at)":[^,}]*/g, '')
                .replace(/retry in \d+ s/g, 'retry in <n> s');
            assert.equal(foreignRes.statusCode, missingRes.statusCode, what);
            assert.equal(norm(foreignRes.body), norm(missingRes.body.split(String(missingId)).join(fid).split(NOBODY_MODEL).join(foreign.model).split(NOBODY).join(foreign.email)), what);
            if (route.url === '/ui/api/session/workspace' && actor.kind !== 'key') assert.equal(foreignRes.statusCode, 404, `${what}: a workspace I am not in is refused like an unknown one`);

            const ownRes = await call(route, who, own, label, query);
            assert.ok(ownRes.statusCode < 500, `${what}: ${ownRes.statusCode} ${ownRes.body.slice(0, 200)}`);
            // My own reads see my workspace (for a member of both: the one switched to).
            if (route.method === 'GET' && route.url === '/v1/requests/:id' && query === '') {
              assert.equal(ownRes.statusCode, 200, `${what}: ${ownRes.body.slice(0, 200)}`);
              assert.ok(ownRes.body.includes(me.marker), `${what}: own request carries ${me.marker}`);
            }
            if (route.method === 'GET' && route.url === '/ui/api/session' && actor.kind !== 'key') {
              assert.equal((ownRes.json() as { workspace: { id: number } }).workspace.id, me.ws.workspace.id, what);
            }
            // A switch by the member of both moved its session: move it back before the next call.
            if (route.url === '/ui/api/session/workspace') await switchBoth(actor);

            // Nothing of theirs leaks into my answers. An error may quote what the caller itself sent
            // (`no score named "X"`, an email typed at login): that is no leak. A member of both
            // knows the other workspace's name (it is in their switcher), but nothing inside it.
            const mark = them.marker.toLowerCase();
            const known = actor.kind === 'both-member' ? [them.ws.workspace.name] : [];
            for (const res of [foreignRes, missingRes, ownRes]) {
              const quoted = [...res.sent.filter((v) => v.toLowerCase().includes(mark)), ...known];
              const unechoed = quoted.reduce((text, v) => text.split(v).join('<sent>'), res.body).toLowerCase();
              assert.ok(!unechoed.includes(mark), `${what} leaked ${them.marker}: ${res.body.slice(0, 300)}`);
            }
          }
          const what = `${route.method} ${route.url} as ${actor.kind} in ${me.marker}`;
          assert.equal(await snapshot(t.store as SqlStore, backend, them.ws.workspace.id, actor.kind === 'key' ? null : user.userId), theirsBefore, `${what} changed the other workspace`);
        }
      }
    });
  });
}
