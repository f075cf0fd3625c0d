import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS, freshLocation, type StoreLocationForTest } from './helpers/backends.js';
import { runCli, startServer, type ServerProcess } from './helpers/process.js';

/**
 * One workspace's worst input never fails another's writes, on a real server process: workspace B
 * sends logs nested 10,000 levels deep, the heaviest text searches a filter may hold and a flood of
 * full exports, while workspace A runs concurrent score writes. Every one of A's writes must be
 * acknowledged, and every refusal B gets must be a 4xx (or the read deadline's and export cap's
 * answers) in Tally's shape. How much B slows A (its p99 against a run without B, target 2x) is a
 * timing figure, measured by `npm run bench:tenants` (bench/tenant-isolation.ts), not here.
 */

const WRITERS = 20;
const WRITES_PER_WRITER = 30;
const NESTING = 10_000;

/** 20 OR'd text terms of 256 characters that almost match B's 8,000-character texts at every position, made of trigrams every row of B holds. */
const HEAVIEST_FILTER = {
  logic: 'or',
  filters: Array.from({ length: 20 }, (_, i) => ({ field: 'text', op: 'contains', value: `${'a'.repeat(240)}c${String(i).padStart(2, '0')}${'a'.repeat(13)}` })),
};


for (const backend of BACKENDS) {
  describe(`workspace B's worst input and workspace A's score writes [${backend}]`, () => {
    let location: StoreLocationForTest;
    let server: ServerProcess;
    let keyA: string;
    let keyB: string;
    let requestIds: number[] = [];

    const call = async (key: string, method: 'GET' | 'POST', path: string, body?: string) => {
      const res = await fetch(`${server.url}${path}`, { method, headers: { 'x-api-key': key, ...(body ? { 'content-type': 'application/json' } : {}) }, body });
      const text = await res.text();
      return { status: res.status, text, retryAfter: res.headers.get('retry-after') };
    };

    before(async () => {
      location = await freshLocation(backend);
      server = await startServer([...location.args, '--read-timeout-ms', '3000', '--rate-limit-per-key', '0']);
      keyA = server.firstKey!;
      assert.ok(keyA, 'the first start printed a key');
      assert.equal((await runCli(['workspaces', 'create', 'b', ...location.args])).code, 0);
      const created = await runCli(['keys', 'create', '--workspace', 'b', ...location.args]);
      assert.equal(created.code, 0, created.stderr);
      keyB = created.stdout.trim().split('\n').pop()!;
      const log = (key: string, text: string) =>
        call(key, 'POST', '/log-request', JSON.stringify({ provider: 'openai', model: 'gpt-4o', input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text }] }] }, output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'ok' }] }] }, request_start_time: 1_732_700_000, request_end_time: 1_732_700_001 }));
      for (let i = 0; i < 40; i++) {
        const res = await log(keyA, `request ${i} of a`);
        assert.equal(res.status, 201, res.text);
        requestIds.push((JSON.parse(res.text) as { id: number }).id);
      }
      // B's rows make its searches and exports heavy.
      for (let i = 0; i < 200; i += 10) {
        const batch = await Promise.all(Array.from({ length: 10 }, () => log(keyB, 'a'.repeat(8000))));
        for (const r of batch) assert.equal(r.status, 201, r.text);
      }
    });

    after(async () => {
      server?.child.kill('SIGTERM');
      await server?.exited;
      await location?.drop();
    });

    /** A's writers: each sends its score writes one after another; the answers that were not 200. */
    async function scoreWrites(): Promise<string[]> {
      const failures: string[] = [];
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, w) => {
          for (let i = 0; i < WRITES_PER_WRITER; i++) {
            const res = await call(keyA, 'POST', '/rest/track-score', JSON.stringify({ request_id: requestIds[(w * WRITES_PER_WRITER + i) % requestIds.length], name: `w${w}`, score: i % 101 }));
            if (res.status !== 200) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
          }
        }),
      );
      return failures;
    }

    type Answer = Awaited<ReturnType<typeof call>>;

    /** B's worst, in loops until `stop` resolves: deep logs, heaviest searches, full exports. */
    function workspaceBLoad(stop: Promise<void>): Promise<Record<string, Answer[]>> {
      let stopped = false;
      void stop.then(() => (stopped = true));
      const statuses: Record<string, Answer[]> = { deep: [], search: [], export: [] };
      const deep = `{"type":"chat","messages":${'['.repeat(NESTING)}1${']'.repeat(NESTING)}}`;
      const loop = (kind: string, send: () => Promise<Answer>) =>
        (async () => {
          while (!stopped) statuses[kind]!.push(await send());
        })();
      const loops = [
        ...Array.from({ length: 2 }, () => loop('deep', () => call(keyB, 'POST', '/log-request', `{"provider":"openai","model":"m","input":${deep},"output":{"type":"chat","messages":[]},"request_start_time":1732700000,"request_end_time":1732700001}`))),
        ...Array.from({ length: 2 }, () => loop('search', () => call(keyB, 'POST', '/v1/requests/search', JSON.stringify({ filter: HEAVIEST_FILTER, limit: 50 })))),
        ...Array.from({ length: 4 }, () => loop('export', () => call(keyB, 'GET', '/v1/requests/export?format=csv'))),
      ];
      return Promise.all(loops).then(() => statuses);
    }

    /** A refusal in Tally's shape: `{ success: false, message, code }`, naming what was refused. */
    const refusal = (kind: string, a: Answer) => {
      const seen = `B's ${kind}: ${a.status} ${a.text.slice(0, 200)}`;
      const body = JSON.parse(a.text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'success'], seen);
      assert.equal(body.success, false, seen);
      assert.ok(typeof body.message === 'string' && body.message.length > 0, seen);
      return body;
    };

    it("acknowledges every one of A's score writes while B sends its worst, and refuses B only in Tally's shape", async () => {
      assert.deepEqual(await scoreWrites(), [], 'writes failed without B');
      let stop!: () => void;
      const load = workspaceBLoad(new Promise<void>((r) => (stop = r)));
      await new Promise((r) => setTimeout(r, 500)); // B's load under way
      const failures = await scoreWrites();
      stop();
      const b = await load;
      assert.deepEqual(failures, [], "A's writes failed under B's load");
      for (const [kind, list] of Object.entries(b)) assert.ok(list.length > 0, `B sent no ${kind} requests`);
      // Too deep: 400 naming the field, every time.
      for (const a of b.deep!) {
        assert.equal(a.status, 400, a.text.slice(0, 200));
        assert.match(String(refusal('deep log', a).message), /input/);
      }
      // The heaviest search: answered, stopped at the read deadline (503), or refused once B's
      // read-time budget is spent (429); either refusal with Retry-After.
      for (const a of b.search!) {
        assert.ok(a.status === 200 || a.status === 503 || a.status === 429, `B's search: ${a.status} ${a.text.slice(0, 200)}`);
        if (a.status !== 200) {
          refusal('search', a);
          assert.ok(a.retryAfter, `B's ${a.status} says when to retry`);
        }
      }
      // The export flood: exports, or the cap on exports per key (429 with Retry-After).
      for (const a of b.export!) {
        assert.ok(a.status === 200 || a.status === 429, `B's export: ${a.status} ${a.text.slice(0, 200)}`);
        if (a.status === 429) {
          refusal('export', a);
          assert.ok(a.retryAfter, "B's 429 says when to retry");
        }
      }
      assert.ok(b.export!.some((a) => a.status === 429), "B's four exports at a time met the per-key cap");
    });
  });
}
