import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore } from '../src/store/open-store.js';
import { BACKENDS, freshLocation } from './helpers/backends.js';
import { startServer } from './helpers/process.js';
import { logBody } from './helpers/test-app.js';

for (const backend of BACKENDS) {
  describe(`graceful shutdown on SIGTERM [${backend}]`, () => {
    it('answers every request in flight, commits what is queued, exits 0 and loses nothing acknowledged', { timeout: 120_000 }, async () => {
      const loc = await freshLocation(backend);
      try {
        const server = await startServer(loc.args);
        const key = server.firstKey!;
        const acked: number[] = [];
        const answeredAfterTerm: number[] = [];
        const droppedInFlight: string[] = [];
        let termSentAt = 0;
        let stop = false;
        const deadline = Date.now() + 60_000;
        const writer = async (w: number) => {
          for (let i = 0; !stop && Date.now() < deadline; i++) {
            const sentAt = Date.now();
            try {
              const res = await fetch(`${server.url}/log-request`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'x-api-key': key },
                body: JSON.stringify(logBody({ tags: [`w${w}`], metadata: { i: String(i) }, score: i % 101, score_name: 'q' })),
              });
              const body = (await res.json()) as { id?: number; success?: boolean; code?: string };
              if (termSentAt > 0) answeredAfterTerm.push(res.status);
              if (res.status === 201) acked.push(body.id!);
              else assert.equal(res.status, 503, `only 201 or 503 during shutdown, got ${res.status}`);
            } catch (err) {
              // A request sent before SIGTERM must be answered; after it, the listener is closed.
              if (termSentAt === 0 || sentAt < termSentAt) droppedInFlight.push(String((err as Error).cause ?? err));
              return;
            }
          }
        };
        const writers = Array.from({ length: 16 }, (_, w) => writer(w));
        while (acked.length < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        termSentAt = Date.now();
        server.child.kill('SIGTERM');
        const code = await server.exited;
        const exitMs = Date.now() - termSentAt;
        stop = true;
        await Promise.all(writers);
        console.log(`SIGTERM under 16 concurrent writers: exit ${code} after ${exitMs} ms; ${acked.length} acknowledged, ${answeredAfterTerm.length} answered after SIGTERM, ${droppedInFlight.length} in-flight requests dropped`);
        assert.equal(code, 0);
        assert.deepEqual(droppedInFlight, []);

        const store = await openStore({ databaseUrl: loc.databaseUrl, dataDir: loc.dataDir });
        try {
          const ws = (await store.workspaces.find('default'))!;
          let lost = 0;
          for (const id of acked) {
            const r = await store.requests.get(ws.id, id);
            if (!r || r.tags.length !== 1 || r.scores.q === undefined) lost++;
          }
          assert.equal(lost, 0, `${lost} of ${acked.length} acknowledged writes lost`);
        } finally {
          await store.close();
        }
      } finally {
        await loc.drop();
      }
    });
  });
}
