/**
 * Commands that can work on a running server instead of a store (`--url` and `--key`) do it
 * through @tally/sdk; this module picks the mode and turns the SDK's errors into the CLI's.
 */
import type { Tally } from '@tally/sdk';
import { TallyError, type ErrorCode } from '../domain/errors.js';

export interface RemoteFlags {
  url?: string;
  key?: string;
}

/**
 * The client for `--url` (or env TALLY_BASE_URL when `--key` is given), or null to use the store.
 * A URL without a key is refused naming `--key`.
 */
export async function remoteClient(flags: RemoteFlags): Promise<Tally | null> {
  const url = flags.url ?? (flags.key !== undefined ? process.env.TALLY_BASE_URL : undefined);
  if (url === undefined) return null;
  const key = flags.key ?? process.env.TALLY_API_KEY;
  if (!key) throw new TallyError('invalid_field', '--key: an API key is required with --url (or env TALLY_API_KEY)');
  const { Tally } = await import('@tally/sdk');
  return new Tally({ apiKey: key, baseURL: url });
}

const CODE_OF_STATUS: Record<number, ErrorCode> = { 401: 'unauthorized', 404: 'not_found', 429: 'rate_limited', 503: 'unavailable' };

/**
 * Runs an SDK call; a refusal from the server (or an unreachable one) becomes a CLI TallyError
 * (exit code 2) with the server's message, passed through `reword` (e.g. to name flags).
 */
export async function remote<T>(fn: () => Promise<T>, reword: (message: string) => string = (m) => m): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const { TallyError: SdkError } = await import('@tally/sdk');
    if (err instanceof SdkError) {
      const code = CODE_OF_STATUS[err.status] ?? (err.status === 0 ? 'unavailable' : 'invalid_field');
      throw new TallyError(code, reword(err.message));
    }
    throw err;
  }
}
