import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

// Bodies are validated exactly: coercion would turn a score of `null` into 0 and `true` into 1.
// strictNumbers: `1e309` parses (and a query string coerces) to Infinity, which no column holds.
const bodyAjv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false, strictNumbers: true, verbose: true });
// Query strings and path parameters are text on the wire, so they are converted to the schema's types.
const textAjv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false, strictNumbers: true, verbose: true });

/** The first query or path parameter that text coercion turned into Infinity (`1e309`), if any. */
function nonFiniteParam(data: unknown): string | null {
  if (typeof data !== 'object' || data === null) return null;
  for (const [name, value] of Object.entries(data)) {
    for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'number' && !Number.isFinite(v)) return name;
  }
  return null;
}

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  if (httpPart === 'body') return bodyAjv.compile(schema as object);
  // Ajv's coercion makes `1e309` Infinity and then skips strictNumbers and minimum/maximum for it.
  const validate = textAjv.compile(schema as object);
  const checked = (data: unknown): boolean => {
    if (!validate(data)) {
      checked.errors = validate.errors;
      return false;
    }
    const name = nonFiniteParam(data);
    checked.errors = name === null ? null : [{ instancePath: `/${name}`, schemaPath: '#', keyword: 'type', params: {}, message: 'must be a finite number' } as ErrorObject];
    return name === null;
  };
  checked.errors = null as ErrorObject[] | null | undefined;
  return checked;
};

const describe = (e: ErrorObject | undefined): string | undefined => {
  const d = (e?.parentSchema as { description?: unknown } | undefined)?.description;
  return typeof d === 'string' ? d : undefined;
};

/**
 * Turns Ajv's errors into one message that starts with the offending field, e.g.
 * `score: must be an integer from 0 to 100` or `request_id: is required`.
 */
export function describeValidation(errors: ErrorObject[], context: string): { field: string; message: string } {
  // Blame the deepest field (`tags.1`, not `tags`); at equal depth prefer the union's own error,
  // whose description says what the field may be.
  const depth = (e: ErrorObject) => e.instancePath.split('/').length + (e.keyword === 'required' ? 1 : 0);
  const deepest = Math.max(...errors.map(depth));
  const atDeepest = errors.filter((e) => depth(e) === deepest);
  const target = atDeepest.find((e) => e.keyword === 'anyOf') ?? atDeepest[0];
  if (!target) return { field: context, message: `${context}: is invalid` };
  const segments = target.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let problem: string;
  if (target.keyword === 'required') {
    segments.push(String((target.params as { missingProperty: string }).missingProperty));
    problem = 'is required';
  } else if (target.keyword === 'additionalProperties') {
    // Name the unknown property itself (e.g. a misspelt query parameter), not its parent.
    segments.push(String((target.params as { additionalProperty: string }).additionalProperty));
    problem = 'is not a known field';
  } else {
    const samePath = errors.filter((e) => e.instancePath === target.instancePath);
    problem = describe(target) ?? samePath.map(describe).find((d) => d !== undefined) ?? samePath[0]?.message ?? 'is invalid';
  }
  const field = segments.length > 0 ? segments.join('.') : context;
  return { field, message: `${field}: ${problem}` };
}
