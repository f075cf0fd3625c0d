import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { createLiveApp } from './helpers/live-app.js';

describe('closing the server', () => {
  it('does not wait for connections that never sent a request', { timeout: 30_000 }, async () => {
    // Without the fix, close waits for the idle socket until connectionTimeout (here 125 s), past the test's timeout.
    const t = await createLiveApp('sqlite', { requestTimeoutMs: 120_000 });
    const { port } = new URL(t.baseURL);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    // A connection that did serve a request is left to the usual idle handling.
    const res = await fetch(`${t.baseURL}/healthz`);
    assert.equal(res.status, 200);
    await t.close();
    await closed;
    assert.equal(socket.bytesWritten, 0);
  });
});
