import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKENDS, freshStore } from './helpers/backends.js';
import { runCli } from './helpers/process.js';

for (const backend of BACKENDS) {
  describe(`tally webhooks list / alerts list [${backend}]`, () => {
    it('lists webhooks without their secret, and alerts with their state', async () => {
      const fresh = await freshStore(backend);
      try {
        const ws = await fresh.store.workspaces.create('team');
        await fresh.store.webhooks.create({ workspaceId: ws.id, url: 'https://hooks.example.com/x', description: '', events: ['score.created'], format: 'slack', secret: 'whsec_topsecret' });
        await fresh.store.alerts.create({ workspaceId: ws.id, name: 'quality drop', scoreName: 'quality', filter: null, windowMs: 3600_000, minCount: 30, threshold: 60, direction: 'below', confidence: 0.95, kind: 'mean', shareValue: null }, Date.now());
        const hooks = await runCli(['webhooks', 'list', '--workspace', 'team', ...fresh.location.args]);
        assert.equal(hooks.code, 0, hooks.stderr);
        assert.match(hooks.stdout, /\tenabled\tslack\tscore\.created\thttps:\/\/hooks\.example\.com\/x\t/);
        assert.doesNotMatch(hooks.stdout, /topsecret/);
        const alerts = await runCli(['alerts', 'list', '--workspace', 'team', '--json', ...fresh.location.args]);
        assert.equal(alerts.code, 0, alerts.stderr);
        const row = JSON.parse(alerts.stdout.trim()) as { name: string; state: string; window_seconds: number };
        assert.deepEqual([row.name, row.state, row.window_seconds], ['quality drop', 'ok', 3600]);
        const missing = await runCli(['alerts', 'list', '--workspace', 'nope', ...fresh.location.args]);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /--workspace: no workspace named "nope"/);
      } finally {
        await fresh.close();
      }
    });
  });
}
