import { createHash, randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_BYTES = 32;
// 62^43 > 2^256, so 43 digits hold any 32-byte value; padding keeps every key the same length.
const KEY_DIGITS = 43;

function base62(bytes: Buffer): string {
  let n = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)]! + out;
    n /= 62n;
  }
  return out.padStart(KEY_DIGITS, '0');
}

export const KEY_PREFIX = 'tl_';

/** Keys are stored only as this hash; a 256-bit random secret needs no slow hash or salt. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new API key: `tl_` and 32 random bytes in base62. `display` is what lists may show of it. */
export function generateApiKey(): { key: string; display: string; hash: string } {
  const key = KEY_PREFIX + base62(randomBytes(KEY_BYTES));
  return { key, display: key.slice(0, KEY_PREFIX.length + 6), hash: hashApiKey(key) };
}
