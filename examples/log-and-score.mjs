// Logs an OpenAI-style chat call with the official PromptLayer SDK pointed at Tally, then scores
// it with @tally/sdk. Run after `npm install` at the repository root, with a server running:
//   TALLY_API_KEY=tl_... TALLY_BASE_URL=http://127.0.0.1:8787 node examples/log-and-score.mjs
import { createRequire } from 'node:module';
import { Tally } from '@tally/sdk';

// The official SDK, unmodified: only its base URL points at Tally.
const { PromptLayer } = createRequire(import.meta.url)('promptlayer');
const baseURL = process.env.TALLY_BASE_URL ?? 'http://127.0.0.1:8787';
const pl = new PromptLayer({ apiKey: process.env.TALLY_API_KEY, baseURL });

const started = Date.now() / 1000;
const logged = await pl.logRequest({
  provider: 'openai',
  model: 'gpt-4o-mini',
  input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello' }] }] },
  output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] }] },
  request_start_time: started,
  request_end_time: Date.now() / 1000,
  tags: ['example'],
});
console.log(`logged request ${logged.id}`);

// Our SDK reads TALLY_API_KEY and TALLY_BASE_URL.
const tally = new Tally();
await tally.track.score({ request_id: logged.id, score: 90 });
await tally.scores.set(logged.id, 'helpfulness', 75, { comment: 'example run' });
const r = await tally.scores.history(logged.id);
console.log(r.map((e) => `${e.name}: ${e.old_value ?? '-'} -> ${e.new_value}`).join('\n'));
