/**
 * `@tally/sdk/feedback`: the browser side of end users' feedback, on its own so a web page loads a
 * few hundred bytes and no API key. The app's backend mints a token per answer
 * (`tally.feedback.createToken`); the page submits the end user's rating with it.
 *
 * @example
 * ```ts
 * import { submitFeedback } from '@tally/sdk/feedback';
 * await submitFeedback({ baseURL: 'https://tally.example.com', token, value: 100 });
 * ```
 */
import { TallyError } from './errors.js';

export { TallyError };

export interface SubmitFeedbackOptions {
  /** Where Tally listens, e.g. `https://tally.example.com`. */
  baseURL: string;
  /** The token the app's backend minted for this answer. */
  token: string;
  /** The rating (one of what the token allows); give this or `label`. */
  value?: number;
  /** A label of the name's schema; give this or `value`. */
  label?: string;
  /** Up to 4096 characters. */
  comment?: string;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface SubmittedFeedback {
  /** The score name the token is for. */
  name: string;
  /** The value recorded. */
  value: number;
  label?: string;
}

/**
 * Submits an end user's rating. Resolves with what was recorded; rejects with a
 * {@link TallyError}: 400 for a value the token does not allow, 401 for an expired or revoked
 * token, 403 when this page's origin is not allowed, 429 (with `retryAfter`) when rating too fast,
 * status 0 when there was no answer. Not retried. Sends no cookies.
 */
export async function submitFeedback(o: SubmitFeedbackOptions): Promise<SubmittedFeedback> {
  let res: Response;
  try {
    res = await (o.fetch ?? fetch)(`${o.baseURL.replace(/\/+$/, '')}/v1/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: o.token, value: o.value, label: o.label, comment: o.comment }),
      credentials: 'omit',
      signal: o.signal ?? null,
    });
  } catch (err) {
    throw new TallyError(0, 'network', `network: ${(err as Error).message}`, { cause: err });
  }
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string } & SubmittedFeedback;
  if (!res.ok) {
    const wait = Number(res.headers.get('retry-after'));
    throw new TallyError(res.status, body.code ?? 'http_error', body.message ?? `HTTP ${res.status}`, wait > 0 ? { retryAfter: wait } : {});
  }
  return { name: body.name, value: body.value, ...(body.label === undefined ? {} : { label: body.label }) };
}
