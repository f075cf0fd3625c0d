import type { FastifyInstance } from 'fastify';
import { invalidField } from '../domain/errors.js';

// Fields stored whole as JSON text: JSON escapes U+0000, so both backends keep it as sent.
const JSON_DOCUMENTS = new Set(['input', 'output', 'kwargs', 'args', 'request_response', 'parameters', 'prompt_input_variables', 'prompt_blueprint']);

function findNul(value: unknown, path: string, depth: number): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (typeof value !== 'object' || value === null || depth > 64) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findNul(value[i], `${path}.${i}`, depth + 1);
      if (hit) return hit;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    const at = path === '' ? k : `${path}.${k}`;
    if (k.includes('\u0000')) return at;
    if (depth === 0 && JSON_DOCUMENTS.has(k)) continue;
    const hit = findNul(v, at, depth + 1);
    if (hit) return hit;
  }
  return null;
}

/**
 * PostgreSQL text cannot hold U+0000 (SQLite can), so a name, tag or metadata value holding it
 * would be stored on one backend and fail with a 500 on the other. Refused up front on every route,
 * in the body, the query and the path, with a 400 naming the field, so both backends answer alike.
 * Prompt and response documents are exempt: they are stored as JSON text, where it is escaped.
 */
export function refuseNulCharacters(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    for (const [part, value] of [['', request.body], ['', request.query], ['', request.params]] as const) {
      const hit = findNul(value, part, 0);
      if (hit !== null) throw invalidField(hit || 'body', 'must not contain the NUL character (U+0000)');
    }
  });
}
