import { readFileSync } from 'node:fs';

/**
 * The password policy, after NIST SP 800-63B-4 (section 3.1.1.2): a length rule, no composition
 * rules (no "one digit, one symbol"), and a list of passwords refused because attackers try them
 * first. The dashboard's password is its only factor, for which SP 800-63B-4 asks at least 15
 * characters (8 only when it is one of two factors); every Unicode character counts as one.
 */
export const PASSWORD_MIN = 15;
/** SP 800-63B asks to allow at least 64; scrypt's cost does not grow with the length. */
export const PASSWORD_MAX = 1024;

// Made by scripts/common-passwords.ts (same path from src/ and dist/).
const LIST_FILE = new URL('../../data/common-passwords.txt', import.meta.url);
let common: Set<string> | null = null;
function commonPasswords(): Set<string> {
  common ??= new Set(readFileSync(LIST_FILE, 'utf8').split('\n').filter((line) => line.length > 0));
  return common;
}

/** Who is choosing the password: what it must not be built from. */
export interface PasswordContext {
  email?: string | null;
}

/** A password made of one short piece over and over (`aaaaaaaaaaaaaaa`, `abcabcabcabcabc`), or of 4 characters or fewer. */
function repetitive(chars: string[]): boolean {
  if (new Set(chars).size <= 4) return true;
  const s = chars.join('');
  return /^(.{1,8}?)\1+$/su.test(s);
}

/** A run up or down the alphabet, the digits or the keyboard's rows (`123456789012345`, `qwertyuiopasdfg`). */
const SEQUENCES = ['abcdefghijklmnopqrstuvwxyz', '0123456789', 'qwertyuiopasdfghjklzxcvbnm', '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p'];
function sequential(s: string): boolean {
  for (const seq of SEQUENCES) {
    const twice = seq + seq;
    if (twice.includes(s) || [...twice].reverse().join('').includes(s)) return true;
  }
  return false;
}

/**
 * What is wrong with a new password, as a problem message for a 400 naming `password`, or null when
 * it is acceptable. Checked when a password is set, never at sign-in.
 */
export function passwordProblem(password: string, ctx: PasswordContext = {}): string | null {
  const chars = [...password.normalize('NFKC')];
  if (chars.length < PASSWORD_MIN) return `must be at least ${PASSWORD_MIN} characters`;
  if (chars.length > PASSWORD_MAX) return `must be at most ${PASSWORD_MAX} characters`;
  const lower = chars.join('').toLowerCase();
  // Spaces and a tail of digits or symbols add little to a common password (`password 2024!!!!`).
  const core = lower.replace(/\s+/gu, '').replace(/[^\p{L}]+$/u, '');
  const list = commonPasswords();
  if (list.has(lower) || list.has(core)) return 'is one of the most common passwords; choose a longer phrase of your own';
  if (repetitive(chars)) return 'repeats a few characters; choose a longer phrase of your own';
  if (sequential(lower.replace(/\s+/gu, ''))) return 'is a run of consecutive keys or characters; choose a longer phrase of your own';
  const email = ctx.email?.trim().toLowerCase();
  if (email) {
    // Mostly the email or its name part (`jane.doe` in `JaneDoe2024!`): the first thing tried against this account.
    const squash = (s: string) => s.replace(/[^\p{L}\p{N}]/gu, '');
    const name = squash(email.split('@')[0]!);
    const pw = squash(lower);
    if (lower.includes(email) || (name.length >= 4 && pw.includes(name) && pw.length - name.length < 8)) {
      return 'is built from your email address; choose a phrase of your own';
    }
  }
  return null;
}
