import assert from 'node:assert/strict';

/** What fixtures/scenario.js's `failure` reports. */
export interface Failure {
  tallyError: boolean;
  resolved?: true;
  name?: string;
  status?: number;
  code?: string;
  message?: string;
  retryAfter?: number | null;
}

/** What fixtures/scenario.js's `scenario` returns. */
export interface ScenarioResult {
  ids: [number, number];
  tracked: unknown;
  set: unknown;
  deleted: unknown;
  found: { id: number; scores: Record<string, number> }[];
  detail: { id: number; tags: string[]; metadata: Record<string, string>; scores: Record<string, number>; output: unknown };
  exported: { id: number; scores: unknown }[];
  csvRecords: number;
  errors: { scoreOf101: Failure; missing: Failure; wrongKey: Failure };
}

/** A call of the server's native API with the workspace's key, made by the test, not the SDK. */
export type NativeApi = (method: 'GET' | 'POST', path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

export const chat = (role: string, text: string) => ({ type: 'chat', messages: [{ role, content: [{ type: 'text', text }] }] });

/** What the client saw: two requests logged, scored by POST, PUT and DELETE, found, read and exported. */
export function checkScenarioResult(result: ScenarioResult, tag: string): void {
  const [first, second] = result.ids;
  assert.ok(Number.isInteger(first) && Number.isInteger(second) && second > first, `ids: ${JSON.stringify(result.ids)}`);
  assert.equal(result.tracked, true);
  // The rater is the key that set the score: `key:<its id>`.
  const rater = (result.set as { rater?: unknown }).rater;
  assert.match(String(rater), /^key:\d+$/);
  assert.deepEqual(result.set, { request_id: first, name: 'quality', old_value: null, new_value: 90, label: null, rater, rating: 90, schema_version: null });
  assert.deepEqual(result.deleted, { request_id: second, name: 'draft', old_value: 10, new_value: null, label: null, rater, rating: null, schema_version: null });
  const expected = [
    { id: first, scores: { default: 87, quality: 90 } },
    { id: second, scores: {} },
  ];
  assert.deepEqual(result.found, expected);
  assert.deepEqual(result.exported, expected);
  assert.equal(result.csvRecords, 3);
  assert.deepEqual(result.detail, { id: first, tags: [tag], metadata: { runtime: tag }, scores: { default: 87, quality: 90 }, output: chat('assistant', 'Hello "there",\nfriend') });
}

/** The typed errors: one refused before the network, two answered by the server. */
export function checkScenarioErrors(result: ScenarioResult): void {
  const { scoreOf101, missing, wrongKey } = result.errors;
  assert.deepEqual(scoreOf101, { tallyError: true, name: 'TallyError', status: 400, code: 'invalid_field', message: 'score: must be an integer from 0 to 100', retryAfter: null });
  assert.deepEqual(missing, { tallyError: true, name: 'TallyError', status: 404, code: 'not_found', message: 'id: no request with this id', retryAfter: null });
  assert.deepEqual(wrongKey, { tallyError: true, name: 'TallyError', status: 401, code: 'unauthorized', message: 'the API key is not valid or has been revoked', retryAfter: null });
}

/** The ids of the requests carrying `tag`, oldest first, through the native search. */
export async function idsTagged(api: NativeApi, tag: string): Promise<number[]> {
  const res = await api('POST', '/v1/requests/search', { filter: { field: 'tags', op: 'any', value: [tag] }, sort_by: 'id', sort_order: 'asc' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body.items as { id: number }[]).map((i) => i.id);
}

/** What the server holds after the scenario, read through its native API. */
export async function checkStored(api: NativeApi, result: ScenarioResult, tag: string): Promise<void> {
  const [first, second] = result.ids;
  assert.deepEqual(await idsTagged(api, tag), [first, second]);
  const read = await api('GET', `/v1/requests/${first}`);
  assert.equal(read.status, 200);
  const request = read.body.request as { tags: string[]; metadata: Record<string, string>; scores: Record<string, number>; input: unknown };
  assert.deepEqual([request.tags, request.metadata, request.scores, request.input], [[tag], { runtime: tag }, { default: 87, quality: 90 }, chat('user', `first call from ${tag}`)]);
  const history = await api('GET', `/v1/requests/${second}/scores/history`);
  assert.equal(history.status, 200);
  assert.deepEqual(
    (history.body.events as { name: string; old_value: number | null; new_value: number | null }[]).map((e) => [e.name, e.old_value, e.new_value]),
    [
      ['draft', null, 10],
      ['draft', 10, null],
    ],
  );
}

/** A NativeApi over real HTTP. */
export const httpApi =
  (baseURL: string, key: string): NativeApi =>
  async (method, path, body) => {
    const res = await fetch(`${baseURL}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
