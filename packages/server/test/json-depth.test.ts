import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findExcessiveNesting } from '../src/domain/json-depth.js';

const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
// The depth JSON.parse sees, computed by walking the parsed value (an explicit stack, no recursion).
function parsedDepth(text: string): number {
  let max = 0;
  const stack: [unknown, number][] = [[JSON.parse(text), 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, d + 1);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

describe('findExcessiveNesting', () => {
  it('passes documents up to the limit and names the top-level field of a deeper one', () => {
    assert.equal(findExcessiveNesting(`{"a":1,"deep":${nest(9)}}`, 10), null);
    assert.equal(findExcessiveNesting(`{"a":1,"deep":${nest(10)}}`, 10), 'deep');
    assert.equal(findExcessiveNesting(`{"a":{"b":1},"c\\"d\\u0065":${nest(10)}}`, 10), 'c"de');
    assert.equal(findExcessiveNesting(nest(11), 10), 'body');
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = `{"s":"${'['.repeat(50)}\\"${'{'.repeat(50)}\\\\","t":["\\\\\\"[[[[[[[[[[[["]}`;
    assert.equal(parsedDepth(text), 2);
    assert.equal(findExcessiveNesting(text, 2), null);
    assert.equal(findExcessiveNesting(`{"k\\\\":${nest(3)}}`, 3), 'k\\');
  });

  it('agrees with the parsed depth on random documents', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const gen = (d: number): string => {
      const r = rand();
      if (d > 12 || r < 0.3) return JSON.stringify(rand() < 0.5 ? '[{"\\' + '}]'.repeat(Math.floor(rand() * 3)) : Math.floor(rand() * 100));
      if (r < 0.65) return `[${Array.from({ length: Math.floor(rand() * 4) }, () => gen(d + 1)).join(',')}]`;
      return `{${Array.from({ length: Math.floor(rand() * 4) }, (_, i) => `"k${i}\\"":${gen(d + 1)}`).join(',')}}`;
    };
    for (let i = 0; i < 2000; i++) {
      const text = `{"top":${gen(1)}}`;
      const depth = parsedDepth(text);
      for (const limit of [1, 2, 3, 5, 8]) {
        assert.equal(findExcessiveNesting(text, limit), depth > limit ? 'top' : null, `${text} at ${limit}`);
      }
    }
  });
});
