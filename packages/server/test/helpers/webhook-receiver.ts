import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The status this receiver answered. */
  status: number;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>/hook` */
  url: string;
  received: Received[];
  /** Waits until `ready()` holds, failing with `what` after `ms`. */
  until(ready: () => boolean, what: string, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A webhook receiver on a free loopback port. `answer` picks the status of the n-th POST (from 0)
 * and may wait first; default 200 at once.
 */
export async function startReceiver(answer: (n: number, body: string) => number | Promise<number> = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      void (async () => {
        const status = await answer(n++, body);
        received.push({ headers: req.headers, body, status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    async until(ready, what, ms = 20_000) {
      const deadline = Date.now() + ms;
      while (!ready()) {
        if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting for ${what}; received ${received.length}: ${received.map((r) => r.body.slice(0, 120)).join(' | ')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
