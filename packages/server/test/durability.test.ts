import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKENDS, freshLocation } from './helpers/backends.js';
import { startServer } from './helpers/process.js';
import { logBody } from './helpers/test-app.js';

interface AckedScore {
  requestId: number;
  name: string;
  value: number;
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
        while (ackedScores.length < 300) await new Promise((r) => setTimeout(r, 5));
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
  });
}
