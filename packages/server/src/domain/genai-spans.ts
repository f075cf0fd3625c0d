/**
 * Which OpenTelemetry spans are LLM calls, and the logged request each becomes. Three ways of
 * describing a call are read (docs/opentelemetry.md has the full table):
 *
 * - OpenTelemetry's GenAI semantic conventions: `gen_ai.operation.name`, `gen_ai.provider.name`
 *   (formerly `gen_ai.system`), `gen_ai.request.*`, `gen_ai.response.model`, `gen_ai.usage.*`;
 *   messages as the `gen_ai.system_instructions` / `gen_ai.input.messages` /
 *   `gen_ai.output.messages` attributes (JSON), or as the earlier span events
 *   (`gen_ai.system.message`, `gen_ai.user.message`, `gen_ai.assistant.message`,
 *   `gen_ai.tool.message`, `gen_ai.choice`; `gen_ai.content.prompt` / `gen_ai.content.completion`).
 * - OpenInference (Arize Phoenix): `openinference.span.kind` = LLM, `llm.model_name`,
 *   `llm.provider`, `llm.input_messages.N.message.*`, `llm.output_messages.N.message.*`,
 *   `llm.token_count.*`, `llm.invocation_parameters`, `llm.tools.N.tool.json_schema`.
 * - OpenLLMetry (Traceloop): `llm.request.type`, `gen_ai.prompt.N.*`, `gen_ai.completion.N.*`,
 *   `llm.usage.*`, `llm.request.functions.N.*`.
 *
 * Messages become PromptLayer's chat template shape: `{ role, content: [{ type: 'text', text }],
 * tool_calls?: [{ id, type: 'function', function: { name, arguments } }], tool_call_id? }`.
 * Pure: no I/O.
 */
import { LIMITS } from './limits.js';
import type { NewRequest } from './request-shape.js';

export type AttrValue = string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };
export type Attributes = Record<string, AttrValue>;

/** A span as read from an OTLP export (ingest/otlp-spans.ts); times in epoch ms, null when not given. */
export interface OtelSpan {
  /** Where the span is in the export, for messages (`resourceSpans[0].scopeSpans[0].spans[3]`). */
  path: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  startMs: number | null;
  endMs: number | null;
  attributes: Attributes;
  events: { name: string; timeMs: number | null; attributes: Attributes }[];
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Attributes;
  scope: { name: string; version: string };
}

/** What a span becomes: a request, or dropped with the reason. */
export type SpanOutcome = { kind: 'llm'; request: NewRequest } | { kind: 'not_llm' } | { kind: 'invalid'; reason: string };

type Json = Record<string, unknown>;
type Message = Json;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null);

/** A value that may be JSON text (span attributes cannot hold structures, so instrumentations send JSON). */
function structured(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return v;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return v;
  }
}

/** Arguments of a tool call as PromptLayer keeps them: JSON text. */
const argumentsText = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

const textBlock = (text: string) => ({ type: 'text', text });

/** Message content (text, an array of parts, anything else) as content blocks. */
function contentBlocks(content: unknown): unknown[] {
  const c = structured(content);
  if (c === undefined || c === null || c === '') return [];
  if (typeof c === 'string') return [textBlock(c)];
  if (Array.isArray(c)) {
    return c.map((part) => {
      if (typeof part === 'string') return textBlock(part);
      if (isObject(part) && part.type === 'text' && typeof part.text !== 'string' && typeof part.content === 'string') return textBlock(part.content);
      return part;
    });
  }
  return [textBlock(JSON.stringify(c))];
}

function toolCall(v: unknown): Json | null {
  const c = structured(v);
  if (!isObject(c)) return null;
  const fn = isObject(c.function) ? c.function : c;
  const name = str(fn.name);
  if (name === null) return null;
  return { id: str(c.id) ?? '', type: 'function', function: { name, arguments: argumentsText(fn.arguments) } };
}

function toolCalls(v: unknown): Json[] {
  const list = structured(v);
  if (!Array.isArray(list)) return [];
  return list.map(toolCall).filter((c): c is Json => c !== null);
}

/** A message of the earlier GenAI form (`{ role, content, tool_calls, id }`) or OpenAI's. */
function plainMessage(m: unknown, defaultRole: string): Message | null {
  const msg = structured(m);
  if (typeof msg === 'string') return { role: defaultRole, content: [textBlock(msg)] };
  if (!isObject(msg)) return null;
  const out: Message = { role: str(msg.role) ?? defaultRole, content: contentBlocks(msg.content) };
  const calls = toolCalls(msg.tool_calls);
  if (calls.length > 0) out.tool_calls = calls;
  const callId = str(msg.tool_call_id) ?? (out.role === 'tool' ? str(msg.id) : null);
  if (callId !== null) out.tool_call_id = callId;
  if (typeof msg.name === 'string') out.name = msg.name;
  return out;
}

/**
 * A message of the current GenAI form: `{ role, parts: [...] }` with parts `text`,
 * `tool_call` (`id`, `name`, `arguments`), `tool_call_response` (`id`, `response`), and others
 * (kept as they are). A tool response becomes a `tool` message of its own.
 */
function partsMessages(m: unknown): Message[] {
  if (!isObject(m)) return [];
  if (!Array.isArray(m.parts)) {
    const plain = plainMessage(m, 'user');
    return plain ? [plain] : [];
  }
  const role = str(m.role) ?? 'user';
  const content: unknown[] = [];
  const calls: Json[] = [];
  const responses: Message[] = [];
  for (const part of m.parts) {
    if (!isObject(part)) continue;
    if (part.type === 'text' || part.type === 'reasoning') {
      const t = str(part.content) ?? str(part.text);
      if (t !== null) content.push(part.type === 'text' ? textBlock(t) : { type: 'thinking', thinking: t });
    } else if (part.type === 'tool_call') {
      const call = toolCall({ id: part.id, name: part.name, arguments: part.arguments });
      if (call) calls.push(call);
    } else if (part.type === 'tool_call_response') {
      const r = part.response ?? part.result;
      responses.push({ role: 'tool', tool_call_id: str(part.id) ?? '', content: [textBlock(typeof r === 'string' ? r : JSON.stringify(r ?? null))] });
    } else {
      content.push(part);
    }
  }
  const out: Message[] = [];
  // A message of tool responses only becomes just its `tool` messages.
  if (content.length > 0 || calls.length > 0 || responses.length === 0) {
    const msg: Message = { role, content };
    if (calls.length > 0) msg.tool_calls = calls;
    if (typeof m.name === 'string') msg.name = m.name;
    out.push(msg);
  }
  return [...out, ...responses];
}

function messagesFromJson(v: unknown): Message[] | null {
  const list = structured(v);
  if (!Array.isArray(list)) return null;
  return list.flatMap(partsMessages);
}

/**
 * Attributes under `prefix` with numbered parts, as a tree: `llm.input_messages.0.message.role`
 * under `llm.input_messages.` is `tree[0].message.role`. Indexed entries come out as arrays in
 * index order.
 */
function unflatten(attrs: Attributes, prefix: string): unknown[] {
  const tree: Json = {};
  for (const [key, value] of Object.entries(attrs)) {
    if (!key.startsWith(prefix)) continue;
    const parts = key.slice(prefix.length).split('.');
    let node = tree;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) {
        Object.defineProperty(node, part, { value, enumerable: true, writable: true, configurable: true });
        return;
      }
      const next = Object.prototype.hasOwnProperty.call(node, part) ? node[part] : undefined;
      if (!isObject(next)) Object.defineProperty(node, part, { value: {}, enumerable: true, writable: true, configurable: true });
      node = node[part] as Json;
    });
  }
  return indexed(tree);
}

/** The numbered entries of a tree node in index order. */
function indexed(node: unknown): unknown[] {
  if (!isObject(node)) return [];
  return Object.keys(node)
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => node[k]);
}

/** OpenInference's `llm.input_messages.N.message.*` (and output). */
function openInferenceMessages(attrs: Attributes, prefix: string): Message[] {
  return unflatten(attrs, prefix).flatMap((entry) => {
    const m = isObject(entry) && isObject(entry.message) ? entry.message : null;
    if (!m) return [];
    const contents = indexed(m.contents).flatMap((c): Json[] => {
      const mc = isObject(c) && isObject(c.message_content) ? c.message_content : null;
      if (!mc) return [];
      if (mc.type === 'image') {
        const url = isObject(mc.image) && isObject(mc.image.image) ? str(mc.image.image.url) : null;
        return url === null ? [] : [{ type: 'image_url', image_url: { url } }];
      }
      const t = str(mc.text);
      return t === null ? [] : [textBlock(t)];
    });
    const out: Message = { role: str(m.role) ?? 'user', content: contents.length > 0 ? contents : contentBlocks(m.content) };
    const calls = indexed(m.tool_calls).flatMap((tc) => {
      const c = isObject(tc) && isObject(tc.tool_call) ? tc.tool_call : null;
      const fn = c && isObject(c.function) ? c.function : null;
      const name = fn ? str(fn.name) : null;
      return c && name !== null ? [{ id: str(c.id) ?? '', type: 'function', function: { name, arguments: argumentsText(fn!.arguments) } }] : [];
    });
    if (calls.length > 0) out.tool_calls = calls;
    const callId = str(m.tool_call_id);
    if (callId !== null) out.tool_call_id = callId;
    if (typeof m.name === 'string') out.name = m.name;
    return [out];
  });
}

/** OpenLLMetry's `gen_ai.prompt.N.*` / `gen_ai.completion.N.*`. */
function openLlmetryMessages(attrs: Attributes, prefix: string, defaultRole: string): Message[] {
  return unflatten(attrs, prefix).flatMap((entry) => {
    if (!isObject(entry)) return [];
    const out: Message = { role: str(entry.role) ?? defaultRole, content: contentBlocks(entry.content ?? entry.user) };
    const calls = indexed(entry.tool_calls).flatMap((tc) => {
      const c = isObject(tc) ? toolCall(tc) : null;
      return c ? [c] : [];
    });
    if (isObject(entry.function_call)) {
      const c = toolCall(entry.function_call);
      if (c) calls.push(c);
    }
    if (calls.length > 0) out.tool_calls = calls;
    const callId = str(entry.tool_call_id);
    if (callId !== null) out.tool_call_id = callId;
    return [out];
  });
}

const INPUT_EVENTS: Record<string, string> = {
  'gen_ai.system.message': 'system',
  'gen_ai.user.message': 'user',
  'gen_ai.assistant.message': 'assistant',
  'gen_ai.tool.message': 'tool',
};

/** The earlier GenAI events: one per input message, `gen_ai.choice` per output choice. */
function eventMessages(span: OtelSpan): { input: Message[]; output: Message[] } {
  const input: Message[] = [];
  const choices: { index: number; message: Message }[] = [];
  for (const e of span.events) {
    const a = e.attributes;
    // Some instrumentations put the event's body, as JSON, in one attribute.
    const body = isObject(structured(a['gen_ai.event.content'])) ? (structured(a['gen_ai.event.content']) as Json) : a;
    const role = INPUT_EVENTS[e.name];
    if (role !== undefined) {
      const m = plainMessage({ ...body, role: str(body.role) ?? role }, role);
      if (m) input.push(m);
    } else if (e.name === 'gen_ai.choice') {
      const message = structured(body.message);
      const m = plainMessage(isObject(message) ? { role: 'assistant', ...message } : { role: 'assistant', content: body.content, tool_calls: body.tool_calls }, 'assistant');
      if (m) choices.push({ index: typeof body.index === 'number' ? body.index : choices.length, message: m });
    } else if (e.name === 'gen_ai.content.prompt') {
      for (const m of messagesFromJson(a['gen_ai.prompt']) ?? []) input.push(m);
    } else if (e.name === 'gen_ai.content.completion') {
      (messagesFromJson(a['gen_ai.completion']) ?? []).forEach((m, i) => choices.push({ index: i, message: m }));
    }
  }
  choices.sort((x, y) => x.index - y.index);
  return { input, output: choices.map((c) => c.message) };
}

/** The first attribute of `names` the span has, on the span or (GenAI's operation-details event) its events. */
function attr(span: OtelSpan, ...names: string[]): AttrValue | undefined {
  for (const n of names) if (span.attributes[n] !== undefined && span.attributes[n] !== null) return span.attributes[n];
  return undefined;
}

function eventAttr(span: OtelSpan, name: string): AttrValue | undefined {
  for (const e of span.events) if (e.attributes[name] !== undefined && e.attributes[name] !== null) return e.attributes[name];
  return undefined;
}

const LLM_OPERATIONS = new Set(['chat', 'text_completion', 'generate_content', 'completion']);

/** Whether a span is an LLM call (not an agent, tool, chain, embedding or plain HTTP span). */
export function isLlmSpan(span: OtelSpan): boolean {
  const oiKind = attr(span, 'openinference.span.kind');
  if (typeof oiKind === 'string') return oiKind.toUpperCase() === 'LLM';
  const op = attr(span, 'gen_ai.operation.name');
  if (typeof op === 'string') return LLM_OPERATIONS.has(op);
  const requestType = attr(span, 'llm.request.type');
  if (typeof requestType === 'string') return requestType === 'chat' || requestType === 'completion';
  const model = attr(span, 'gen_ai.request.model', 'gen_ai.response.model');
  const system = attr(span, 'gen_ai.provider.name', 'gen_ai.system');
  return typeof model === 'string' && typeof system === 'string';
}

// Provider names as PromptLayer writes them, where the conventions name them otherwise.
const PROVIDERS: Record<string, string> = {
  'gcp.gemini': 'google',
  'gcp.vertex_ai': 'google',
  'gcp.gen_ai': 'google',
  gemini: 'google',
  vertex_ai: 'google',
  vertexai: 'google',
  google_genai: 'google',
  mistral_ai: 'mistral',
  mistralai: 'mistral',
  'azure.ai.openai': 'openai.azure',
  'az.ai.openai': 'openai.azure',
  azure_openai: 'openai.azure',
};

function providerName(span: OtelSpan): string {
  const raw = str(attr(span, 'gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system'));
  if (raw === null) return '';
  const p = raw.trim().toLowerCase();
  return PROVIDERS[p] ?? p;
}

// Like the log routes, a count that is not a usable integer within what Tally stores is read as none.
const tokenCount = (v: unknown): number => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= LIMITS.tokens ? n : 0;
};

/** `gen_ai.request.*` parameter attributes and the request parameter each is. */
const PARAMETERS: Record<string, string> = {
  'gen_ai.request.temperature': 'temperature',
  'gen_ai.request.max_tokens': 'max_tokens',
  'gen_ai.request.top_p': 'top_p',
  'gen_ai.request.top_k': 'top_k',
  'gen_ai.request.frequency_penalty': 'frequency_penalty',
  'gen_ai.request.presence_penalty': 'presence_penalty',
  'gen_ai.request.stop_sequences': 'stop',
  'gen_ai.request.seed': 'seed',
  'gen_ai.request.choice.count': 'n',
  'gen_ai.request.encoding_formats': 'encoding_format',
  'gen_ai.output.type': 'response_format',
  'llm.is_streaming': 'stream',
  'llm.top_k': 'top_k',
  'llm.frequency_penalty': 'frequency_penalty',
  'llm.presence_penalty': 'presence_penalty',
};

function parameters(span: OtelSpan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const invocation = structured(attr(span, 'llm.invocation_parameters'));
  if (isObject(invocation)) Object.assign(out, invocation);
  for (const [name, param] of Object.entries(PARAMETERS)) {
    const v = span.attributes[name];
    if (v !== undefined && v !== null && out[param] === undefined) out[param] = v;
  }
  return out;
}

/** Tool definitions as OpenAI's `tools` list: GenAI's `gen_ai.tool.definitions`, OpenInference's `llm.tools`, OpenLLMetry's `llm.request.functions`. */
function tools(span: OtelSpan): unknown[] {
  const definitions = structured(attr(span, 'gen_ai.tool.definitions'));
  if (Array.isArray(definitions)) {
    return definitions.map((d) => (isObject(d) && d.type === 'function' && !isObject(d.function) ? { type: 'function', function: Object.fromEntries(Object.entries(d).filter(([k]) => k !== 'type')) } : d));
  }
  const oi = unflatten(span.attributes, 'llm.tools.').flatMap((t) => {
    const schema = isObject(t) && isObject(t.tool) ? structured(t.tool.json_schema) : null;
    return isObject(schema) ? [schema] : [];
  });
  if (oi.length > 0) return oi;
  return unflatten(span.attributes, 'llm.request.functions.').flatMap((f) => {
    if (!isObject(f) || typeof f.name !== 'string') return [];
    const fn: Json = { name: f.name };
    if (typeof f.description === 'string') fn.description = f.description;
    if (f.parameters !== undefined) fn.parameters = structured(f.parameters);
    return [{ type: 'function', function: fn }];
  });
}

/** Input and output messages, from whichever form the span carries (current GenAI attributes first). */
function messages(span: OtelSpan): { input: Message[]; output: Message[] } {
  let input: Message[] = [];
  let output: Message[] = [];
  const genAiInput = messagesFromJson(attr(span, 'gen_ai.input.messages') ?? eventAttr(span, 'gen_ai.input.messages'));
  const genAiOutput = messagesFromJson(attr(span, 'gen_ai.output.messages') ?? eventAttr(span, 'gen_ai.output.messages'));
  if (genAiInput !== null || genAiOutput !== null) {
    input = genAiInput ?? [];
    output = genAiOutput ?? [];
  } else if (Object.keys(span.attributes).some((k) => k.startsWith('llm.input_messages.') || k.startsWith('llm.output_messages.'))) {
    input = openInferenceMessages(span.attributes, 'llm.input_messages.');
    output = openInferenceMessages(span.attributes, 'llm.output_messages.');
  } else if (Object.keys(span.attributes).some((k) => k.startsWith('gen_ai.prompt.') || k.startsWith('gen_ai.completion.'))) {
    input = openLlmetryMessages(span.attributes, 'gen_ai.prompt.', 'user');
    output = openLlmetryMessages(span.attributes, 'gen_ai.completion.', 'assistant');
  } else {
    ({ input, output } = eventMessages(span));
  }
  const system = structured(attr(span, 'gen_ai.system_instructions') ?? eventAttr(span, 'gen_ai.system_instructions'));
  if (system !== undefined && system !== null && !input.some((m) => m.role === 'system')) {
    const blocks = Array.isArray(system) ? system.flatMap((p) => (isObject(p) && typeof (p.content ?? p.text) === 'string' ? [textBlock(String(p.content ?? p.text))] : [p])) : contentBlocks(system);
    input.unshift({ role: 'system', content: blocks });
  }
  return { input, output };
}

/** A completion's text: every text block of the messages, in order. */
const completionContent = (ms: Message[]): unknown[] => ms.flatMap((m) => (Array.isArray(m.content) ? m.content : []));

function errorOf(span: OtelSpan): { type: string; message: string | null } {
  const exception = span.events.find((e) => e.name === 'exception');
  const type = str(attr(span, 'error.type')) ?? (exception ? str(exception.attributes['exception.type']) : null) ?? 'error';
  const message = span.status.message !== '' ? span.status.message : exception ? str(exception.attributes['exception.message']) : null;
  return { type, message };
}

const clip = (s: string, max: number): string => (s.length > max ? s.slice(0, max) : s);

/** Resource attributes kept as metadata, under the name they are stored as. */
const RESOURCE_METADATA: [string, string][] = [
  ['service.name', 'service.name'],
  ['deployment.environment.name', 'deployment.environment'],
  ['deployment.environment', 'deployment.environment'],
];

/** What a span becomes: a logged request when it is an LLM call, otherwise dropped. */
export function spanToRequest(span: OtelSpan): SpanOutcome {
  if (!isLlmSpan(span)) return { kind: 'not_llm' };
  if (span.startMs === null || span.endMs === null) return { kind: 'invalid', reason: `${span.path}: an LLM span needs startTimeUnixNano and endTimeUnixNano` };
  if (span.endMs < span.startMs) return { kind: 'invalid', reason: `${span.path}: ends before it starts` };
  const model = str(attr(span, 'gen_ai.request.model', 'llm.model_name', 'gen_ai.response.model', 'llm.response.model')) ?? '';
  const provider = providerName(span);
  if (model.length > LIMITS.shortText || provider.length > LIMITS.shortText) return { kind: 'invalid', reason: `${span.path}: model or provider longer than ${LIMITS.shortText} characters` };

  const requestType = str(attr(span, 'llm.request.type'));
  const op = str(attr(span, 'gen_ai.operation.name'));
  const completion = requestType === 'completion' || op === 'text_completion' || op === 'completion';
  const { input, output } = messages(span);
  const toolList = tools(span);
  const inputTemplate: Json = completion ? { type: 'completion', content: completionContent(input) } : { type: 'chat', messages: input };
  if (toolList.length > 0 && !completion) inputTemplate.tools = toolList;
  const outputTemplate: Json = completion ? { type: 'completion', content: completionContent(output) } : { type: 'chat', messages: output };

  const metadata: Record<string, string> = {};
  for (const [from, to] of RESOURCE_METADATA) {
    const v = str(span.resource[from]);
    if (v !== null && metadata[to] === undefined) metadata[to] = clip(v, LIMITS.metadataValue);
  }
  metadata['otel.trace_id'] = span.traceId;
  const responseModel = str(attr(span, 'gen_ai.response.model'));
  if (responseModel !== null && responseModel !== model) metadata['gen_ai.response.model'] = clip(responseModel, LIMITS.metadataValue);

  const error = span.status.code === 2 ? errorOf(span) : null;
  return {
    kind: 'llm',
    request: {
      provider,
      model,
      functionName: clip(span.name, LIMITS.shortText),
      apiType: null,
      input: inputTemplate,
      output: outputTemplate,
      parameters: parameters(span),
      promptName: null,
      promptId: null,
      promptVersion: null,
      promptInputVariables: {},
      inputTokens: tokenCount(attr(span, 'gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt', 'llm.usage.prompt_tokens')),
      outputTokens: tokenCount(attr(span, 'gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion', 'llm.usage.completion_tokens')),
      cachedInputTokens: tokenCount(attr(span, 'gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens', 'llm.token_count.prompt_details.cache_read')),
      price: 0,
      status: error ? 'ERROR' : 'SUCCESS',
      errorType: error ? clip(error.type, LIMITS.shortText) : null,
      errorMessage: error?.message ? clip(error.message, LIMITS.errorMessage) : null,
      startMs: span.startMs,
      endMs: span.endMs,
      tags: [],
      metadata,
      groupId: null,
      spanId: span.spanId,
      score: null,
    },
  };
}
