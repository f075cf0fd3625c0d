/** One bad item of a rejected `scores.batch` call. */
export interface TallyItemError {
  /** Position of the item in the array sent. */
  index: number;
  field: string;
  message: string;
}

/**
 * Every failure of a Tally call: an error answer of the server, a timeout, a network failure, or a
 * value refused before the network. `code` is stable; `message` starts with the offending field
 * when one is to blame, exactly as the server words it.
 *
 * | status | code                                  | when                                  |
 * | ------ | ------------------------------------- | ------------------------------------- |
 * | 400    | `invalid_field`, `invalid_json`       | bad input (also raised before sending) |
 * | 401    | `unauthorized`                        | missing, wrong or revoked key          |
 * | 404    | `not_found`                           | no such row in the key's workspace     |
 * | 429/503| `rate_limited`, `unavailable`         | after the retries ran out              |
 * | 0      | `timeout`, `network`, `aborted`       | no answer                              |
 *
 * @example
 * ```ts
 * try {
 *   await tally.track.score({ request_id: 42, score: 101 });
 * } catch (err) {
 *   if (err instanceof TallyError && err.code === 'invalid_field') console.error(err.message);
 *   // "score: must be an integer from 0 to 100"
 * }
 * ```
 */
export class TallyError extends Error {
  /** HTTP status of the answer; 0 when there was none (timeout, network, aborted). */
  readonly status: number;
  /** Stable machine-readable code (`invalid_field`, `unauthorized`, `not_found`, `timeout`, ...). */
  readonly code: string;
  /** Per-item problems of a rejected `scores.batch`; empty otherwise. */
  readonly errors: readonly TallyItemError[];
  /** Seconds the server asked to wait (`Retry-After`), when it sent one. */
  readonly retryAfter: number | undefined;

  constructor(status: number, code: string, message: string, opts: { errors?: TallyItemError[]; retryAfter?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TallyError';
    this.status = status;
    this.code = code;
    this.errors = opts.errors ?? [];
    this.retryAfter = opts.retryAfter;
  }
}

/** The error for a value refused before the network; same status, code and message as the server's. */
export function invalidField(field: string, problem: string): TallyError {
  return new TallyError(400, 'invalid_field', `${field}: ${problem}`);
}
