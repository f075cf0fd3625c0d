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
  /** Default body limits in bytes; both are configurable. */
  trackBodyBytes: 1024 * 1024,
  logBodyBytes: 20 * 1024 * 1024,
} as const;
