import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS, freshLocation, type StoreLocationForTest } from './helpers/backends.js';
import { runCli, startServer } from './helpers/process.js';

for (const backend of BACKENDS) {
  describe(`tally CLI [${backend}]`, () => {
    let loc: StoreLocationForTest;
    before(async () => {
      loc = await freshLocation(backend);
    });
    after(() => loc.drop());

    it('first start creates workspace "default" and prints its key once; the key works; a restart prints none', async () => {
      const first = await startServer(loc.args);
      try {
        assert.ok(first.firstKey, `a key is printed:\n${first.stdout()}`);
        assert.match(first.firstKey, /^tl_[0-9A-Za-z]{43}$/);
        const res = await fetch(`${first.url}/create-group`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': first.firstKey }, body: '{}' });
        assert.equal(res.status, 200);
      } finally {
        first.child.kill('SIGTERM');
        assert.equal(await first.exited, 0, 'SIGTERM exits 0');
      }
      const second = await startServer(loc.args);
      try {
        assert.equal(second.firstKey, null);
        assert.doesNotMatch(second.stdout(), /tl_/);
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
      const list = await runCli(['workspaces', 'list', ...loc.args]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^1\tdefault\t/m);
    });

    it('workspaces create, keys create (key alone on the last line), list and revoke', async () => {
      const created = await runCli(['workspaces', 'create', 'team-a', ...loc.args]);
      assert.equal(created.code, 0, created.stderr);
      const dup = await runCli(['workspaces', 'create', 'team-a', ...loc.args]);
      assert.equal(dup.code, 2);
      assert.match(dup.stderr, /already exists/);

      const key = await runCli(['keys', 'create', '--workspace', 'team-a', '--label', 'ci', ...loc.args]);
      assert.equal(key.code, 0, key.stderr);
      const lines = key.stdout.trimEnd().split('\n');
      const secret = lines.at(-1)!;
      assert.match(secret, /^tl_[0-9A-Za-z]{43}$/);
      const keyId = /created key (\d+)/.exec(key.stdout)![1]!;

      const list = await runCli(['keys', 'list', '--workspace', 'team-a', ...loc.args]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, new RegExp(`^${keyId}\\t${secret.slice(0, 9)}…\\tci\\t`, 'm'));
      assert.ok(!list.stdout.includes(secret), 'the secret is never listed');

      const server = await startServer(loc.args);
      try {
        const call = () => fetch(`${server.url}/create-group`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: secret }) });
        assert.equal((await call()).status, 200);
        const revoked = await runCli(['keys', 'revoke', keyId, ...loc.args]);
        assert.equal(revoked.code, 0, revoked.stderr);
        const refused = await call();
        assert.equal(refused.status, 401);
        assert.equal(((await refused.json()) as { success: boolean }).success, false);
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      const again = await runCli(['keys', 'revoke', keyId, ...loc.args]);
      assert.equal(again.code, 2);
    });

    it('keys create for an unknown workspace fails with a message naming it', async () => {
      const res = await runCli(['keys', 'create', '--workspace', 'nope', ...loc.args]);
      assert.equal(res.code, 2);
      assert.match(res.stderr, /--workspace: no workspace named "nope"/);
    });
  });
}

describe('tally configuration', () => {
  it('refuses a bad setting at start with a message naming it', async () => {
    const res = await runCli(['serve', '--port', 'eighty']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--port \/ TALLY_PORT/);
    const env = await runCli(['serve'], { TALLY_DATABASE_URL: 'mysql://x' });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /--database-url \/ TALLY_DATABASE_URL/);
    const origin = await runCli(['serve', '--cors-origins', 'https://app.example.com,https://app.example.com/']);
    assert.equal(origin.code, 2);
    assert.match(origin.stderr, /invalid setting --cors-origins \/ TALLY_CORS_ORIGINS: "https:\/\/app\.example\.com\/" is not an origin .*did you mean "https:\/\/app\.example\.com"\?/);
  });

  it('--help describes every command', async () => {
    for (const cmd of [[], ['serve'], ['workspaces'], ['workspaces', 'create'], ['keys', 'create'], ['keys', 'list'], ['keys', 'revoke']]) {
      const res = await runCli([...cmd, '--help']);
      assert.equal(res.code, 0, cmd.join(' '));
      assert.match(res.stdout, /Usage: tally/);
    }
  });
});
