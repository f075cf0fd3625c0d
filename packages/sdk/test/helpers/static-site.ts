import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DIST, FIXTURES } from './built-sdk.js';

export interface StaticSite {
  /** `http://127.0.0.1:<port>`: the page's origin, as the browser sends it in `Origin`. */
  origin: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.map': 'application/json', '.html': 'text/html; charset=utf-8' };

/** What the site serves: the page at `/`, the scenario, and the built SDK under `/sdk/`. */
function fileFor(path: string): string | null {
  if (path === '/') return join(FIXTURES, 'page.html');
  if (path === '/scenario.js') return join(FIXTURES, 'scenario.js');
  // Flat file names only: nothing outside dist/ can be asked for.
  const sdk = /^\/sdk\/([a-z-]+\.js(?:\.map)?)$/.exec(path);
  return sdk ? join(DIST, sdk[1]!) : null;
}

/** A tiny static web server on a free loopback port: the origin of the test page. */
export async function startStaticSite(): Promise<StaticSite> {
  const server: Server = createServer((req, res) => {
    const file = fileFor((req.url ?? '/').split('?')[0]!);
    if (req.method !== 'GET' || file === null) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body),
      () => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
