import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as common from '../src/schemas/common.js';
import * as promptlayer from '../src/schemas/promptlayer.js';
import * as scores from '../src/schemas/scores.js';
import * as search from '../src/schemas/search.js';

it('gives every record schema keys of any text, line breaks included (RecordOf in schemas/common.ts)', () => {
  // Type.Record's own key pattern, ^(.*)$, fails keys holding CR, LF, U+2028 or U+2029.
  const patterns = new Set<string>();
  const seen = new Set<object>();
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    const props = (node as { patternProperties?: Record<string, unknown> }).patternProperties;
    if (props) for (const p of Object.keys(props)) patterns.add(p);
    for (const child of Object.values(node)) walk(child);
  };
  for (const module of [common, promptlayer, scores, search]) walk(module);
  assert.ok(patterns.size > 0, 'the schemas have records');
  assert.deepEqual([...patterns].filter((p) => p !== '^metadata\\.' && p !== '^score\\.' && p !== '^reason\\.'), ['^[\\s\\S]*$']);
});
