import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { SqlStore } from '../src/store/sql-store.js';
import { BACKENDS } from './helpers/backends.js';
import { listRoutes, type RouteEntry } from './helpers/routes.js';
import { createTestApp, logRequest, type TestApp, type TestWorkspace } from './helpers/test-app.js';

/**
 * A workspace is a wall: random operations by two workspaces' keys on every route the app serves
 * (read from the router). After each operation the other workspace's rows are unchanged; no answer
 * contains the other workspace's markers; and an id of the other workspace answers byte for byte
 * like an id that does not exist. `TALLY_ISOLATION_RUNS` sets the number of operations (default 300).
 */
const RUNS = Number(process.env.TALLY_ISOLATION_RUNS ?? 300);

interface Side {
  ws: TestWorkspace;
  marker: string;
  requestIds: number[];
  groupId: number;
}

/** Every row of a workspace in every table that has a workspace_id (last_used_at aside). */
async function snapshot(store: SqlStore, backend: string, workspaceId: number): Promise<string> {
  const db = store.db;
  const tables =
    backend === 'sqlite'
      ? (await sql<{ name: string }>`select m.name from sqlite_master m join pragma_table_info(m.name) p where m.type = 'table' and p.name = 'workspace_id' order by m.name`.execute(db)).rows
      : (await sql<{ name: string }>`select table_name as name from information_schema.columns where table_schema = 'public' and column_name = 'workspace_id' order by table_name`.execute(db)).rows;
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables) {
    const rows = (await sql.raw<Record<string, unknown>>(`select * from "${name}" where workspace_id = ${workspaceId} order by 1`).execute(db)).rows;
    out[name] = rows.map((r) => ({ ...r, last_used_at: undefined }));
  }
  return JSON.stringify(out);
}

for (const backend of BACKENDS) {
  describe(`workspace isolation on every route [${backend}]`, () => {
    let t: TestApp;
    let routes: RouteEntry[];
    let a: Side;
    let b: Side;
    let missingId = 0;
    let ops = 0;
    before(async () => {
      // A stand-in for the built dashboard, so its pages answer whether or not it was built here.
      const dashboardDir = mkdtempSync(join(tmpdir(), 'tally-iso-ui-'));
      mkdirSync(join(dashboardDir, 'assets'));
      writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><title>Tally</title>');
      t = await createTestApp(backend, { rateLimitPerKey: 0, authFailuresPerMinute: 0, dashboardDir } as Parameters<typeof createTestApp>[1]);
      routes = listRoutes(t.app).filter((r) => !r.url.startsWith('/docs') && r.url !== '/openapi.json' && r.url !== '/metrics');
      const seed = async (ws: TestWorkspace, marker: string): Promise<Side> => {
        const requestIds: number[] = [];
        for (let i = 0; i < 3; i++) {
          requestIds.push(await logRequest(t, { model: `${marker}-model`, tags: [`${marker}-tag`], metadata: { [`${marker}-key`]: `${marker}-value` }, score: 40 + i, score_name: `${marker}-score`, prompt_name: `${marker}-prompt` }, ws.key));
        }
        const g = await t.post('/create-group', {}, { key: ws.key });
        return { ws, marker, requestIds, groupId: (g.json() as { id: number }).id };
      };
      a = await seed(t.alpha, 'ALPHAMARK');
      b = await seed(t.other, 'OTHERMARK');
      missingId = Math.max(...a.requestIds, ...b.requestIds, a.groupId, b.groupId) + 100_000;
    });
    after(async () => {
      console.log(`isolation [${backend}]: ${ops} operations over ${routes.length} routes, each compared foreign against missing ids`);
      await t.close();
    });

    const bodyFor = (route: RouteEntry, id: number, groupId: number, name: string): unknown => {
      if (route.method === 'GET' || route.method === 'DELETE') return undefined;
      if (route.url.includes('batch')) return { items: [{ request_id: id, name, value: 7 }] };
      if (route.url.includes('search')) return { q: 'MARK', filter_group: { logic: 'AND', filters: [] } };
      if (route.url.includes('/scores/')) return { value: 9 };
      return { request_id: id, group_id: groupId, score: 9, name, metadata: { k: 'v' }, prompt_name: 'p', prompt_input_variables: {}, version: 1 };
    };

    const call = (route: RouteEntry, key: string, id: number, groupId: number, name: string, query: string) => {
      const url = route.url.replace(/:request_id|:id/g, String(id)).replace(/:name/g, encodeURIComponent(name)).replace(/:token/g, 'x').replace(/\*/g, 'x') + query;
      const payload = bodyFor(route, id, groupId, name);
      return t.inject({ method: route.method as 'GET', url, headers: { 'x-api-key': key }, ...(payload === undefined ? {} : { payload: payload as object }) });
    };

    it('lets neither key read, change or detect the other workspace, whatever it calls', { timeout: 10 * 60_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...routes),
          fc.boolean(),
          fc.nat(),
          fc.constantFrom('', '?limit=50', '?q=MARK', '?name=OTHERMARK-score', '?name=ALPHAMARK-score', '?per_page=25&page=1', '?format=csv', '?format=jsonl', '?tag=OTHERMARK-tag', '?tag=ALPHAMARK-tag'),
          async (route, alphaActs, pick, query) => {
            ops++;
            const [me, them] = alphaActs ? [a, b] : [b, a];
            const theirsBefore = await snapshot(t.store as SqlStore, backend, them.ws.workspace.id);
            const foreignId = them.requestIds[pick % them.requestIds.length]!;
            const name = `${them.marker}-score`;
            const foreign = await call(route, me.ws.key, foreignId, them.groupId, name, query);
            const missing = await call(route, me.ws.key, missingId, missingId, name, query);
            const what = `${route.method} ${route.url}${query} as ${me.marker}`;
            // A foreign id answers exactly like a missing one (the id itself may be echoed back).
            // Fresh ids of rows the call itself creates (a new group) differ from call to call.
            const norm = (s: string, id: number) => s.split(String(id)).join('<id>').replace(/"(id|took|at|generated_at)":[^,}]*/g, '');
            assert.equal(foreign.statusCode, missing.statusCode, what);
            assert.equal(norm(foreign.body, foreignId), norm(missing.body.split(String(missingId)).join(String(foreignId)), foreignId), what);
            // Nothing of theirs leaks into my answers; my own call on my own id sees only mine.
            const own = await call(route, me.ws.key, me.requestIds[pick % me.requestIds.length]!, me.groupId, `${me.marker}-score`, query);
            // An error may quote what the caller itself sent (`no score named "X"`): that is no leak.
            const sent = [name, ...new URLSearchParams(query).values()].filter((v) => v.includes(them.marker));
            const unechoed = (body: string) => sent.reduce((text, v) => text.split(v).join('<sent>'), body);
            for (const res of [foreign, missing, own]) assert.ok(!unechoed(res.body).includes(them.marker), `${what} leaked ${them.marker}: ${res.body.slice(0, 300)}`);
            assert.ok(own.statusCode < 500, `${what}: ${own.statusCode} ${own.body.slice(0, 200)}`);
            assert.equal(await snapshot(t.store as SqlStore, backend, them.ws.workspace.id), theirsBefore, `${what} changed the other workspace`);
          },
        ),
        { numRuns: RUNS },
      );
    });
  });
}
