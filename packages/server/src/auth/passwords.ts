import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { TallyError } from '../domain/errors.js';

// scrypt's recommended interactive cost (N=2^15, r=8, p=1): about 50 ms and 32 MiB per hash.
const PARAMS = { N: 32768, r: 8, p: 1 } as const;
const KEY_LEN = 64;
const SALT_LEN = 16;
const MAX_MEM = 64 * 1024 * 1024;

/**
 * scrypt runs on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), which
 * file reads, DNS and zlib share: a flood of logins queued there made a 32 ms asset take seconds.
 * So at most half the pool derives at once, and only so many more wait; past that a login is
 * answered 503 with Retry-After rather than queued without bound.
 */
const POOL_THREADS = Number(process.env.UV_THREADPOOL_SIZE) || 4;
export const SCRYPT_CONCURRENCY = Math.max(1, Math.floor(POOL_THREADS / 2));
export const SCRYPT_QUEUE = 64;
let running = 0;
const queued: (() => void)[] = [];

async function withScryptSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= SCRYPT_CONCURRENCY) {
    if (queued.length >= SCRYPT_QUEUE) throw new TallyError('unavailable', 'password: too many sign-ins are being checked right now; retry in 1 s', { retryAfter: 1 });
    // The slot is handed over by the check that ends (running stays counted).
    await new Promise<void>((resolve) => queued.push(resolve));
  } else running++;
  try {
    return await fn();
  } finally {
    const next = queued.shift();
    if (next) next();
    else running--;
  }
}

function derive(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return withScryptSlot(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        scrypt(password.normalize('NFKC'), salt, KEY_LEN, { ...opts, maxmem: MAX_MEM }, (err, key) => (err ? reject(err) : resolve(key))),
      ),
  );
}

/**
 * Hashes a password with scrypt and a fresh random salt. The result carries its own parameters
 * (`scrypt$N$r$p$salt$hash`, base64), so the cost can rise later without invalidating old hashes.
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const key = await derive(password, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

// A real hash of nothing in particular: verifying against it costs the same as a real check, so
// "no such user" and "wrong password" take equally long.
let decoy: Promise<string> | null = null;

/** Checks a password against a stored hash in constant time; a null hash (no such user) is false. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (stored === null) {
    // A decoy that failed (the scrypt queue was full) is made again next time.
    decoy ??= hashPassword(randomBytes(16).toString('hex')).catch((err: unknown) => {
      decoy = null;
      throw err;
    });
    await verifyPassword(password, await decoy);
    return false;
  }
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await derive(password, salt, { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
