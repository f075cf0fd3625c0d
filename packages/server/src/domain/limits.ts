/** The largest 32-bit integer: what an `integer` column holds on PostgreSQL. */
export const INT32_MAX = 2_147_483_647;

/** Input limits. Each is documented in docs/security.md and docs/api.md; changing one is a wire-visible change. */
export const LIMITS = {
  scoreName: 512,
  tag: 512,
  tagsPerRequest: 256,
  metadataKey: 1024,
  metadataValue: 65_536,
  metadataEntries: 256,
  errorMessage: 1024,
  promptName: 512,
  shortText: 512,
  workspaceName: 128,
  keyLabel: 256,
  /** Prompt versions are stored as 32-bit integers. */
  promptVersion: INT32_MAX,
  /**
   * Input and output tokens each: stored as 32-bit integers, and low enough that their sum (the
   * `tokens` filter and sort, an indexed expression) fits one too.
   */
  tokens: 1_000_000_000,
  /** Default body limits in bytes; both are configurable. */
  trackBodyBytes: 1024 * 1024,
  logBodyBytes: 20 * 1024 * 1024,
  /** OTLP trace exports: the body once decompressed, and its spans (both configurable). */
  tracesBodyBytes: 20 * 1024 * 1024,
  tracesSpans: 5000,
  /** Search bodies: a filter of many conditions, far below a log's size. */
  searchBodyBytes: 256 * 1024,
  /**
   * Every other route, the unauthenticated ones (login, setup) among them: their bodies are a few
   * fields, so a stranger cannot make the server read megabytes.
   */
  smallBodyBytes: 64 * 1024,
  /**
   * Most levels of `[` and `{` a JSON body may nest, checked on the raw text before it is parsed:
   * deeper documents overflowed the stack of whatever recursed on them next (validation, the
   * writer thread's postMessage, JSON.stringify).
   */
  jsonDepth: 64,
  /**
   * How much of a refused body (413, 401) is read and dropped after the answer, so the client can
   * read the answer instead of a reset connection; past this the connection is closed.
   */
  drainBytes: 32 * 1024 * 1024,
} as const;
