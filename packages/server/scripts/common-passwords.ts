/**
 * Writes data/common-passwords.txt, the list the password policy refuses (auth/password-policy.ts):
 * the 10,000 most common passwords of zxcvbn's ranked list (as @zxcvbn-ts/language-common ships
 * it: passwords ranked by how often they appear in leaked password sets), and, further down that
 * list, every one as long as the policy's minimum, which the length rule alone would let through.
 * One password a line, lower case, most common first.
 *
 *   npx tsx scripts/common-passwords.ts
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PASSWORD_MIN } from '../src/auth/password-policy.js';

const TOP = 10_000;
const ranked = createRequire(import.meta.url)('@zxcvbn-ts/language-common/src/passwords.json') as string[];
const seen = new Set<string>();
const kept: string[] = [];
ranked.forEach((raw, rank) => {
  const p = raw.toLowerCase();
  if (seen.has(p) || (rank >= TOP && [...p].length < PASSWORD_MIN)) return;
  seen.add(p);
  kept.push(p);
});
const out = new URL('../data/common-passwords.txt', import.meta.url);
writeFileSync(out, `${kept.join('\n')}\n`);
console.log(`${kept.length} passwords written to ${out.pathname}`);
