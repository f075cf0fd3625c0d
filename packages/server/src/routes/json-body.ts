import type { FastifyInstance } from 'fastify';
import { invalidField } from '../domain/errors.js';
import { findExcessiveNesting } from '../domain/json-depth.js';

/**
 * JSON bodies are checked for nesting depth on the raw text, before JSON.parse: nothing after the
 * parser (the validator, the NUL guard, the writer thread's postMessage, JSON.stringify on
 * PostgreSQL) recurses on a document deeper than `maxDepth`. A deeper body is refused with a 400
 * naming its top-level field. Everything else is Fastify's own parser, unchanged (it still
 * refuses `__proto__` and `constructor.prototype` keys).
 */
export function parseJsonWithDepthLimit(app: FastifyInstance, opts: { maxDepth: number }): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    const field = findExcessiveNesting(text, opts.maxDepth);
    if (field !== null) {
      const name = field.length > 100 ? 'body' : field;
      done(invalidField(name, `nested deeper than the limit of ${opts.maxDepth} levels of arrays and objects`), undefined);
      return;
    }
    parse(request, text, done);
  });
}
