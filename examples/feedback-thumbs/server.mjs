// A chat answer with thumbs up and down, rated by the person who reads it, straight to Tally.
//
// This tiny backend (node:http, no framework) stands for your app: it holds the API key, logs each
// answer to Tally and asks for a feedback token in the same call, and serves a page that sends the
// thumbs to Tally itself, with the token and without the key. Tally and this page are different
// origins, so this backend also adds its own origin to the workspace's feedback origins at start.
// Run after `npm install` at the repository root, with a server running:
//   TALLY_API_KEY=tl_... TALLY_BASE_URL=http://127.0.0.1:8787 node examples/feedback-thumbs/server.mjs
// then open the address it prints. PORT (default 3000) and HOST (127.0.0.1) choose where it
// listens; TALLY_PUBLIC_URL is Tally's address as the browser reaches it (default TALLY_BASE_URL).
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tally } from '@tally/sdk';

const here = dirname(fileURLToPath(import.meta.url));
const tally = new Tally(); // TALLY_API_KEY and TALLY_BASE_URL from the environment
const publicTally = (process.env.TALLY_PUBLIC_URL ?? tally.baseURL).replace(/\/+$/, '');
// The browser entry of the SDK, served to the page as it is built (two small files).
const sdkDist = dirname(fileURLToPath(import.meta.resolve('@tally/sdk/feedback')));

const ANSWERS = [
  ['How do I undo my last git commit?', 'Run `git reset --soft HEAD~1`: the commit is undone and its changes stay staged.'],
  ['What is the capital of Australia?', 'Canberra.'],
];

/** Logs one answer (as your app would after calling its model) and returns its id and token. */
async function answer(question, text, visitor) {
  const now = Date.now() / 1000;
  const logged = await tally.logRequest({
    provider: 'openai',
    model: 'gpt-4o-mini',
    input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: question }] }] },
    output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text }] }] },
    request_start_time: now - 0.8,
    request_end_time: now,
    tags: ['feedback-example'],
    // Thumbs up is 100, down is 0; `visitor` is the app's opaque id for the reader (the page
    // can read the token, so never an email), so a second click replaces the first.
    feedback_token: { name: 'thumbs', values: [100, 0], end_user: visitor },
  });
  console.log(`logged request ${logged.id}`);
  return { id: logged.id, token: logged.feedback_token.token };
}

const escape = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function page(visitor) {
  const template = await readFile(join(here, 'page.html'), 'utf8');
  const items = [];
  for (const [question, text] of ANSWERS) {
    const { id, token } = await answer(question, text, visitor);
    items.push(`<article data-request-id="${id}" data-token="${escape(token)}">
  <p class="q">${escape(question)}</p>
  <p class="a">${escape(text)}</p>
  <button class="up" aria-label="thumbs up">👍</button> <button class="down" aria-label="thumbs down">👎</button> <span class="status"></span>
</article>`);
  }
  return template.replace('{{TALLY_URL}}', escape(publicTally)).replace('{{ANSWERS}}', items.join('\n'));
}

/** Adds this page's origin to the workspace's feedback origins, keeping the ones already there. */
async function allowOrigin(origin) {
  const headers = { 'x-api-key': process.env.TALLY_API_KEY, 'content-type': 'application/json' };
  const current = await fetch(`${tally.baseURL}/v1/workspace/feedback`, { headers }).then((r) => r.json());
  if (current.feedback_origins.includes(origin)) return;
  const res = await fetch(`${tally.baseURL}/v1/workspace`, { method: 'PATCH', headers, body: JSON.stringify({ feedback_origins: [...current.feedback_origins, origin] }) });
  if (!res.ok) throw new Error(`could not allow ${origin}: ${res.status} ${await res.text()}`);
}

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  const sdkFile = /^\/sdk\/(feedback|errors)\.js$/.exec(path);
  const serve = sdkFile
    ? readFile(join(sdkDist, `${sdkFile[1]}.js`)).then((body) => res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(body))
    : path === '/'
      ? page(new URL(req.url, 'http://x').searchParams.get('visitor') ?? 'demo-visitor').then((html) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html))
      : Promise.resolve(res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'));
  serve.catch((err) => {
    console.error(err);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('error');
  });
});

const host = process.env.HOST ?? '127.0.0.1';
server.listen(Number(process.env.PORT ?? 3000), host, async () => {
  const origin = `http://${host}:${server.address().port}`;
  await allowOrigin(origin);
  console.log(`example listening on ${origin}`);
});
