import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { BACKENDS, freshLocation } from './helpers/backends.js';
import { runCli, startServer, type ServerProcess } from './helpers/process.js';
import { logBody } from './helpers/test-app.js';

async function call(server: ServerProcess, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Several Tally processes over one PostgreSQL: stateless instances behind a load balancer. */
if (BACKENDS.includes('postgres')) {
  describe('two instances on one PostgreSQL', () => {
    it('writes through both are read back through either, with one history; a key revoked on one is refused by the other', async () => {
      const loc = await freshLocation('postgres');
      const servers: ServerProcess[] = [];
      try {
        servers.push(await startServer(loc.args));
        servers.push(await startServer(loc.args));
        const [a, b] = servers as [ServerProcess, ServerProcess];
        const key = a.firstKey!;
        assert.ok(key, 'the first instance created workspace default and its key');
        assert.equal(b.firstKey, null, 'the second found it already there');

        // Writers on both instances at once: log through one, score it through the other.
        const logged: { id: number; via: ServerProcess; score: number }[] = [];
        await Promise.all(
          Array.from({ length: 8 }, async (_, w) => {
            for (let n = 0; n < 15; n++) {
              const via = (w + n) % 2 === 0 ? a : b;
              const other = via === a ? b : a;
              const res = await call(via, key, 'POST', '/log-request', logBody({ tags: [`w${w}`], metadata: { n: String(n) } }));
              assert.equal(res.status, 201, JSON.stringify(res.json));
              const id = res.json.id as number;
              const score = (w * 15 + n) % 101;
              const scored = await call(other, key, 'POST', '/library-track-score', { request_id: id, score, name: 'quality' });
              assert.equal(scored.status, 200, JSON.stringify(scored.json));
              // A second change through the first instance: the history must chain the two.
              const again = await call(via, key, 'PUT', `/v1/requests/${id}/scores/quality`, { score: 100 - score });
              assert.equal(again.status, 200, JSON.stringify(again.json));
              logged.push({ id, via, score });
            }
          }),
        );
        assert.equal(logged.length, 120);
        for (const r of logged) {
          for (const reader of [a, b]) {
            const got = await call(reader, key, 'GET', `/v1/requests/${r.id}`);
            assert.equal(got.status, 200);
            const item = got.json.request as { scores: Record<string, number> };
            assert.deepEqual(item.scores, { quality: 100 - r.score });
            const history = await call(reader, key, 'GET', `/v1/requests/${r.id}/scores/history`);
            const events = history.json.events as { old_value: number | null; new_value: number | null }[];
            assert.deepEqual(events.map((e) => [e.old_value, e.new_value]), [[null, r.score], [r.score, 100 - r.score]]);
          }
        }
        // Both see all 120 requests.
        for (const reader of [a, b]) {
          const page = await call(reader, key, 'GET', '/v1/requests/search?limit=500');
          assert.equal((page.json.items as unknown[]).length, 120);
        }

        // Revoke the key through instance a's HTTP API, as a signed-in dashboard user (invited with
        // the CLI, as an operator would); instance b refuses it too. It learns of it by
        // notification, so allow it the moment that takes to arrive.
        const invite = await runCli(['users', 'create', '--workspace', 'default', '--email', 'ops@example.com', ...loc.args]);
        assert.equal(invite.code, 0, invite.stderr);
        const token = /\/setup\/([0-9a-f]{64})\s*$/.exec(invite.stdout)![1]!;
        const setup = await fetch(`${a.url}/ui/api/setup/${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: randomBytes(12).toString('hex') }) });
        assert.equal(setup.status, 200, await setup.clone().text());
        const session = /tally_session=([^;]+)/.exec(setup.headers.get('set-cookie') ?? '')![1]!;
        const { csrf_token: csrf } = (await setup.json()) as { csrf_token: string };
        const browser = { cookie: `tally_session=${session}`, 'x-csrf-token': csrf };
        const keys = (await (await fetch(`${a.url}/ui/api/keys`, { headers: browser })).json()) as { keys: { id: number; prefix: string; revoked_at: string | null }[] };
        const live = keys.keys.filter((k) => k.revoked_at === null && key.startsWith(k.prefix));
        assert.equal(live.length, 1, JSON.stringify(keys));
        const revoked = await fetch(`${a.url}/ui/api/keys/${live[0]!.id}`, { method: 'DELETE', headers: browser });
        assert.equal(revoked.status, 200, await revoked.text());
        for (const server of [b, a]) {
          const deadline = Date.now() + 2000;
          let status = 0;
          do {
            status = (await call(server, key, 'POST', '/library-track-score', { request_id: logged[0]!.id, score: 1 })).status;
          } while (status !== 401 && Date.now() < deadline);
          assert.equal(status, 401, `the key revoked on instance a is refused by ${server === a ? 'a' : 'b'}`);
        }
      } finally {
        for (const s of servers) {
          s.child.kill('SIGTERM');
          await s.exited;
        }
        await loc.drop();
      }
    });
  });
}
