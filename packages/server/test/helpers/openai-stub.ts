import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubCall {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

export interface OpenAIStub {
  /** `http://127.0.0.1:<port>/v1`: the base URL an OpenAI client takes. */
  baseURL: string;
  /** Every call received, in order. */
  calls: StubCall[];
  close(): Promise<void>;
}

/** The answer's text, streamed as these chunks; joined it reads `Hello from the stub`. */
export const STUB_CHUNKS = ['Hello', ' from', ' the', ' stub'];
export const STUB_USAGE = { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 };

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  return text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/**
 * A minimal OpenAI-compatible server on a free loopback port, so the wrapped OpenAI client of the
 * official PromptLayer SDK runs for real without leaving the machine. `POST /v1/chat/completions`
 * answers a fixed completion, plain or as server-sent events when `stream: true`.
 */
export async function startOpenAIStub(): Promise<OpenAIStub> {
  const calls: StubCall[] = [];
  let counter = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const body = await readJson(req);
      calls.push({ method: req.method ?? '', path, body });
      if (req.method !== 'POST' || path !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `stub: no route ${req.method} ${path}` } }));
        return;
      }
      counter += 1;
      const id = `chatcmpl-stub-${counter}`;
      const model = typeof body.model === 'string' ? body.model : 'gpt-stub';
      const created = 1732712345;
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
        STUB_CHUNKS.forEach((text, i) =>
          send({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: text } : { content: text }, finish_reason: null, logprobs: null }] }),
        );
        send({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }] });
        const options = body.stream_options as { include_usage?: boolean } | undefined;
        if (options?.include_usage) send({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: STUB_USAGE });
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: STUB_CHUNKS.join(''), refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: STUB_USAGE,
        }),
      );
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(err) } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    calls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
