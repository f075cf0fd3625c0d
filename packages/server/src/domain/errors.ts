/**
 * The error catalogue. Every error Tally sends has a stable `code`; the HTTP status lives here so
 * that routes only ever throw, and one handler turns errors into the wire shape
 * `{ success: false, message, code }`.
 */
export const ERROR_CODES = {
  invalid_field: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  body_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One bad item of a request that takes many (the score batch), reported beside every other bad one. */
export interface ItemProblem {
  index: number;
  field: string;
  message: string;
}

export class TallyError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  /** The offending field, as a dotted path (`metadata.team`), when one is to blame. */
  readonly field: string | undefined;
  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  readonly retryAfter: number | undefined;
  /** Every bad item, when the request held many (sent as `errors`). */
  readonly errors: ItemProblem[] | undefined;

  constructor(code: ErrorCode, message: string, opts: { field?: string | undefined; retryAfter?: number | undefined; errors?: ItemProblem[] | undefined } = {}) {
    super(message);
    this.name = 'TallyError';
    this.code = code;
    this.status = ERROR_CODES[code];
    this.field = opts.field;
    this.retryAfter = opts.retryAfter;
    this.errors = opts.errors;
  }
}

/** A field failed validation; the message always starts with the field's name. */
export function invalidField(field: string, problem: string): TallyError {
  return new TallyError('invalid_field', `${field}: ${problem}`, { field });
}

/**
 * A row that does not exist, or exists in another workspace: both answer exactly alike, so a key
 * cannot learn that another workspace's id is taken.
 */
export function notFound(field: string, what: string): TallyError {
  return new TallyError('not_found', `${field}: no ${what} with this id`, { field });
}

export function unauthorized(message = 'a valid API key is required (X-API-KEY header or api_key in the body)'): TallyError {
  return new TallyError('unauthorized', message);
}
