import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { createLiveApp, type LiveApp } from './helpers/live-app.js';
import { BASE, bulkInsert } from './helpers/search-fixtures.js';
import { addApiKey } from './helpers/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const backend of BACKENDS) {
  describe(`exports at once are capped per key and in all [${backend}]`, () => {
    let t: LiveApp;
    const keys: string[] = [];
    before(async () => {
      t = await createLiveApp(backend, { exportsPerKey: 2, exportsInAll: 4 });
      // Tens of MB of CSV: more than socket buffers hold, so an export nobody reads stays open. The
      // bulk is in parameters, which the text index does not read, so it is cheap to write.
      await bulkInsert(t, 2000, 'big', BASE, () => ({ parameters: { pad: 'x'.repeat(16_000) } }));
      keys.push(t.alpha.key);
      for (let i = 0; i < 3; i++) keys.push((await addApiKey(t.store, t.alpha.workspace.id, `k${i}`)).key);
    });
    const open: AbortController[] = [];
    // Exports left unread end first: closing the server would otherwise wait for their connections
    // to time out.
    after(async () => {
      for (const c of open) c.abort();
      await t.close();
    });
    /** Starts an export and returns once its headers came; its body is left unread. */
    async function start(key: string): Promise<{ res: Response; abort: () => void }> {
      const c = new AbortController();
      open.push(c);
      const res = await fetch(`${t.baseURL}/v1/requests/export?format=csv&tag=big`, { headers: { 'x-api-key': key }, signal: c.signal });
      return { res, abort: () => c.abort() };
    }
    async function refused(key: string, reason: RegExp): Promise<void> {
      const { res } = await start(key);
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After');
      const body = (await res.json()) as { success: boolean; code: string; message: string };
      assert.equal(body.success, false);
      assert.equal(body.code, 'rate_limited');
      assert.match(body.message, reason);
    }

    it('refuses a third export of one key and a fifth in all with 429, and takes one again once an export ends', async () => {
      const a1 = await start(keys[0]!);
      const a2 = await start(keys[0]!);
      assert.equal(a1.res.status, 200);
      assert.equal(a2.res.status, 200);
      await refused(keys[0]!, /^export: at most 2 exports at once per API key/);
      const b = await start(keys[1]!);
      const c = await start(keys[2]!);
      assert.equal(b.res.status, 200);
      assert.equal(c.res.status, 200);
      await refused(keys[3]!, /^export: the server runs at most 4 exports at once/);

      // Other calls go on meanwhile: a one-row search answers.
      const search = await fetch(`${t.baseURL}/v1/requests/search?tag=big&limit=1`, { headers: { 'x-api-key': keys[3]! } });
      assert.equal(search.status, 200, await search.clone().text());

      // The client of one export goes away: its slot comes back.
      a1.abort();
      let status = 0;
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
        const again = await start(keys[3]!);
        status = again.res.status;
        if (status === 200) break;
        await again.res.text();
      }
      assert.equal(status, 200, 'a slot is free again after an export was cut off');
      for (const e of [a2, b, c]) e.abort();
    });

    it('frees the slot of an export read to its end', async () => {
      // Three in a row by one key, each read whole: the third would be refused if the first two held on.
      for (let i = 0; i < 3; i++) {
        let res: Response | undefined;
        for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
          res = (await start(keys[1]!)).res;
          if (res.status !== 429) break;
          await res.text();
        }
        assert.equal(res!.status, 200, `export ${i + 1}`);
        assert.ok((await res!.text()).length > 2000 * 16_000, 'the whole export');
      }
    });
  });
}
