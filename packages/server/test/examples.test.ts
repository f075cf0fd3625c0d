import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { BACKENDS, freshLocation } from './helpers/backends.js';
import { startServer } from './helpers/process.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The README's example program, run as a user would, against a live server. */
for (const backend of BACKENDS) {
  describe(`examples/log-and-score.mjs [${backend}]`, () => {
    it('logs with the official SDK and scores with ours; the request and its history landed', async () => {
      const loc = await freshLocation(backend);
      const server = await startServer(loc.args);
      try {
        const key = server.firstKey!;
        const { stdout } = await promisify(execFile)(process.execPath, ['examples/log-and-score.mjs'], {
          cwd: ROOT,
          env: { ...process.env, TALLY_API_KEY: key, TALLY_BASE_URL: server.url },
        });
        const id = Number(/^logged request (\d+)$/m.exec(stdout)?.[1]);
        assert.ok(id > 0, stdout);
        const res = await fetch(`${server.url}/v1/requests/${id}`, { headers: { 'x-api-key': key } });
        assert.equal(res.status, 200);
        const { request } = (await res.json()) as { request: { tags: string[]; model: string; scores: Record<string, number> } };
        assert.deepEqual(request.scores, { default: 90, helpfulness: 75 });
        assert.deepEqual(request.tags, ['example']);
        assert.equal(request.model, 'gpt-4o-mini');
        assert.match(stdout, /^default: - -> 90$/m);
        assert.match(stdout, /^helpfulness: - -> 75$/m);
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
        await loc.drop();
      }
    });
  });
}
