import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLiveApp, type LiveApp } from './helpers/live-app.js';

/** Sends `text` on a raw socket, then waits (bounded) for the server to answer or close it. */
function hold(baseURL: string, text: string, limitMs: number): Promise<{ ms: number; answer: string }> {
  const url = new URL(baseURL);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let answer = '';
    const socket = connect(Number(url.port), url.hostname, () => socket.write(text));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server still held the connection after ${limitMs} ms`));
    }, limitMs);
    socket.on('data', (d) => (answer += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - started, answer });
    });
  });
}

describe('slow clients cannot hold the server', () => {
  let t: LiveApp;
  before(async () => {
    t = await createLiveApp('sqlite', { headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
  });
  after(() => t.close());

  it('closes a connection whose headers never finish, within the headers timeout', async () => {
    const { ms, answer } = await hold(t.baseURL, 'POST /log-request HTTP/1.1\r\nHost: x\r\nX-Slow: ', 8000);
    assert.ok(ms < 4000, `closed after ${ms} ms`);
    assert.match(answer, /^HTTP\/1\.1 408 /, `a 408 before the close, not a silent reset: ${JSON.stringify(answer)}`);
  });

  it('answers 408 to a request whose body never finishes, within the request timeout', async () => {
    const { ms, answer } = await hold(t.baseURL, 'POST /log-request HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"provider":', 8000);
    assert.ok(ms < 5000, `closed after ${ms} ms`);
    // The answer itself, not just a closed socket: an empty answer is a reset the client cannot read.
    assert.match(answer, /^HTTP\/1\.1 408 /, `a 408 before the close: ${JSON.stringify(answer)}`);
  });

  it('keeps serving other clients while slow ones wait', async () => {
    const slow = hold(t.baseURL, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 8000);
    const res = await fetch(`${t.baseURL}/healthz`);
    assert.equal(res.status, 200);
    await slow;
  });
});
