import { invalidField } from './errors.js';
import { parseId } from './ids.js';
import { LIMITS } from './limits.js';
import { DEFAULT_SCORE_NAME } from './score.js';
import { parseTimestamp } from './timestamps.js';

export type RequestStatus = 'SUCCESS' | 'WARNING' | 'ERROR';

/** A request as Tally stores it, whichever route logged it. Times are epoch milliseconds. */
export interface NewRequest {
  provider: string;
  model: string;
  functionName: string;
  apiType: string | null;
  input: unknown;
  output: unknown;
  parameters: Record<string, unknown>;
  promptName: string | null;
  promptId: string | null;
  promptVersion: number | null;
  promptInputVariables: Record<string, unknown>;
  inputTokens: number;
  outputTokens: number;
  /** Of the input tokens, how many the provider read from its cache (prices them; not stored). Absent: 0. */
  cachedInputTokens?: number;
  price: number;
  status: RequestStatus;
  errorType: string | null;
  errorMessage: string | null;
  startMs: number;
  endMs: number;
  tags: string[];
  metadata: Record<string, string>;
  groupId: number | null;
  spanId: string | null;
  score: { name: string; value: number } | null;
}

type Json = Record<string, unknown>;

/** A prompt blueprint as logged: a chat's messages or a completion's content blocks (any other keys are kept as sent). */
export interface BlueprintInput {
  type: 'chat' | 'completion';
  messages?: unknown[];
  content?: unknown[];
}

/**
 * What the rules below read of a `/log-request` body, once the schema has checked its types
 * (schemas/promptlayer.ts declares the wire body and is checked against this). Times are epoch
 * seconds or ISO 8601 text; ids are integers or their decimal text.
 */
export interface LogRequestInput {
  provider: string;
  model: string;
  input: BlueprintInput;
  output: BlueprintInput;
  request_start_time: number | string;
  request_end_time: number | string;
  parameters?: Json | null;
  tags?: string[] | null;
  metadata?: Record<string, string> | null;
  prompt_name?: string | null;
  prompt_id?: number | string | null;
  prompt_version_number?: number | null;
  prompt_input_variables?: Json | null;
  input_tokens?: number | null;
  output_tokens?: number | null;
  price?: number | null;
  function_name?: string | null;
  score?: number | null;
  score_name?: string | null;
  api_type?: string | null;
  status?: RequestStatus | null;
  error_type?: string | null;
  error_message?: string | null;
  group_id?: number | string | null;
  span_id?: number | string | null;
}

/** What the rules below read of a `/track-request` body (the legacy call wrapping a provider call), as LogRequestInput is for `/log-request`. */
export interface TrackRequestInput {
  function_name?: string | null;
  provider_type?: string | null;
  kwargs?: Json | null;
  request_response?: unknown;
  request_start_time: number | string;
  request_end_time: number | string;
  tags?: string[] | null;
  metadata?: Record<string, string> | null;
  prompt_id?: number | string | null;
  prompt_version?: number | null;
  prompt_input_variables?: Json | null;
  group_id?: number | string | null;
  span_id?: number | string | null;
  status?: RequestStatus | null;
  error_type?: string | null;
  error_message?: string | null;
}
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function times(start: unknown, end: unknown): { startMs: number; endMs: number } {
  const startMs = parseTimestamp(start, 'request_start_time');
  const endMs = parseTimestamp(end, 'request_end_time');
  if (endMs < startMs) throw invalidField('request_end_time', 'must not be before request_start_time');
  return { startMs, endMs };
}

function dedupe(tags: string[] | null | undefined): string[] {
  return [...new Set(tags ?? [])];
}

/** Turns provider message content (a string or an array of parts) into blueprint content blocks. */
function contentBlocks(content: unknown): unknown[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (Array.isArray(content)) return content.map((part) => (typeof part === 'string' ? { type: 'text', text: part } : part));
  return [{ type: 'text', text: JSON.stringify(content) }];
}

function blueprintMessage(message: unknown): Json {
  if (!isObject(message)) return { role: 'user', content: contentBlocks(message) };
  const { content, ...rest } = message;
  return { ...rest, role: typeof message.role === 'string' ? message.role : 'user', content: contentBlocks(content) };
}

// Like any other unusable usage figure, a count beyond what Tally stores is read as none.
const usageNumber = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= LIMITS.tokens ? v : 0);

/**
 * Reads the provider call of `/track-request` (OpenAI- or Anthropic-shaped kwargs and response)
 * into chat or completion blueprints, the shape `/log-request` takes directly.
 */
function providerShapes(kwargs: Json, response: unknown): {
  input: Json;
  output: Json;
  parameters: Json;
  inputTokens: number;
  outputTokens: number;
} {
  const { messages, prompt, system, ...parameters } = kwargs;
  let input: Json;
  if (Array.isArray(messages)) {
    const list = messages.map(blueprintMessage);
    if (system !== undefined) list.unshift({ role: 'system', content: contentBlocks(system) });
    input = { type: 'chat', messages: list };
  } else {
    input = { type: 'completion', content: contentBlocks(prompt ?? '') };
  }

  let output: Json = { type: input.type, ...(input.type === 'chat' ? { messages: [] } : { content: [] }) };
  let inputTokens = 0;
  let outputTokens = 0;
  if (isObject(response)) {
    const usage = isObject(response.usage) ? response.usage : {};
    inputTokens = usageNumber(usage.prompt_tokens ?? usage.input_tokens);
    outputTokens = usageNumber(usage.completion_tokens ?? usage.output_tokens);
    if (Array.isArray(response.choices)) {
      const choices = response.choices.filter(isObject);
      if (choices.some((c) => c.message !== undefined)) {
        output = { type: 'chat', messages: choices.map((c) => blueprintMessage(c.message)) };
      } else {
        output = { type: 'completion', content: choices.flatMap((c) => contentBlocks(c.text)) };
      }
    } else if (Array.isArray(response.content)) {
      // Anthropic: one assistant message made of content blocks.
      output = { type: 'chat', messages: [{ role: typeof response.role === 'string' ? response.role : 'assistant', content: response.content }] };
    } else if (typeof response.completion === 'string') {
      output = { type: 'completion', content: contentBlocks(response.completion) };
    }
  }
  return { input, output, parameters, inputTokens, outputTokens };
}

function optionalId(value: unknown, field: string): number | null {
  return value === undefined || value === null ? null : parseId(value, field);
}

const optionalText = (v: string | number | null | undefined): string | null =>
  v === undefined || v === null ? null : String(v);

/** `POST /track-request`: the legacy call that wraps a provider call's kwargs and response. */
export function fromTrackRequest(body: TrackRequestInput): NewRequest {
  const kwargs = body.kwargs ?? {};
  const shapes = providerShapes(kwargs, body.request_response);
  const model = typeof kwargs.model === 'string' ? kwargs.model : '';
  const status = body.status ?? 'SUCCESS';
  return {
    provider: body.provider_type ?? '',
    model,
    functionName: body.function_name ?? '',
    apiType: null,
    input: shapes.input,
    output: shapes.output,
    parameters: shapes.parameters,
    promptName: null,
    promptId: optionalText(body.prompt_id),
    promptVersion: body.prompt_version ?? null,
    promptInputVariables: body.prompt_input_variables ?? {},
    inputTokens: shapes.inputTokens,
    outputTokens: shapes.outputTokens,
    price: 0,
    status,
    errorType: body.error_type ?? null,
    errorMessage: body.error_message ?? null,
    ...times(body.request_start_time, body.request_end_time),
    tags: dedupe(body.tags),
    metadata: body.metadata ?? {},
    groupId: optionalId(body.group_id, 'group_id'),
    spanId: optionalText(body.span_id),
    score: null,
  };
}

/**
 * `POST /log-request`. The Python SDK always sends `score: 0, score_name: null`, so a zero score
 * with no name means "no score given" and must neither create nor overwrite one.
 */
export function fromLogRequest(body: LogRequestInput): NewRequest {
  const scoreValue = body.score ?? null;
  const scoreNameGiven = body.score_name ?? null;
  let score: NewRequest['score'] = null;
  if (scoreValue !== null && !(scoreValue === 0 && scoreNameGiven === null)) {
    score = { name: scoreNameGiven ?? DEFAULT_SCORE_NAME, value: scoreValue };
  }
  if (body.input.type === 'chat' && !Array.isArray(body.input.messages)) {
    throw invalidField('input.messages', 'is required for a chat blueprint');
  }
  if (body.output.type === 'chat' && !Array.isArray(body.output.messages)) {
    throw invalidField('output.messages', 'is required for a chat blueprint');
  }
  return {
    provider: body.provider,
    model: body.model,
    functionName: body.function_name ?? '',
    apiType: body.api_type ?? null,
    input: body.input,
    output: body.output,
    parameters: body.parameters ?? {},
    promptName: body.prompt_name ?? null,
    promptId: optionalText(body.prompt_id),
    promptVersion: body.prompt_version_number ?? null,
    promptInputVariables: body.prompt_input_variables ?? {},
    inputTokens: body.input_tokens ?? 0,
    outputTokens: body.output_tokens ?? 0,
    price: body.price ?? 0,
    status: body.status ?? 'SUCCESS',
    errorType: body.error_type ?? null,
    errorMessage: body.error_message ?? null,
    ...times(body.request_start_time, body.request_end_time),
    tags: dedupe(body.tags),
    metadata: body.metadata ?? {},
    groupId: optionalId(body.group_id, 'group_id'),
    spanId: optionalText(body.span_id),
    score,
  };
}

/**
 * The prompt blueprint PromptLayer's `GET /api/public/v2/requests/{id}` returns: the input
 * template with the response appended, and the model it ran on.
 */
export function promptBlueprint(r: { input: unknown; output: unknown; provider: string; model: string; parameters: unknown }): Json {
  const input = isObject(r.input) ? r.input : {};
  const output = isObject(r.output) ? r.output : {};
  let template: Json;
  if (input.type === 'chat') {
    const inMessages = Array.isArray(input.messages) ? input.messages : [];
    const outMessages = Array.isArray(output.messages) ? output.messages : [];
    template = { ...input, messages: [...inMessages, ...outMessages] };
  } else {
    const inContent = Array.isArray(input.content) ? input.content : [];
    const outContent = Array.isArray(output.content) ? output.content : [];
    template = { type: 'completion', ...input, content: [...inContent, ...outContent] };
  }
  return {
    prompt_template: template,
    metadata: { model: { provider: r.provider, name: r.model, parameters: r.parameters ?? {} } },
    inference_client_name: null,
    provider_base_url_name: null,
  };
}
