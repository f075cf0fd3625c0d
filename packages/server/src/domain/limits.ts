/** The largest 32-bit integer: what an `integer` column holds on PostgreSQL. */
export const INT32_MAX = 2_147_483_647;

/** Input limits. Each is documented in the README; changing one is a wire-visible change. */
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
} as const;
