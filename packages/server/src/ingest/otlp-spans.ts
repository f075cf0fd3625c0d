import { invalidField, TallyError } from '../domain/errors.js';
import type { AttrValue, Attributes, OtelSpan } from '../domain/genai-spans.js';

/**
 * Reads an OTLP trace export in its JSON form (OTLP/JSON as sent, or a protobuf body turned into
 * that form by otlp-proto.ts) into spans. The JSON mapping's rules: keys in lowerCamelCase (the
 * proto field names are taken too, as protobuf's JSON parsers do), trace and span ids as hex,
 * 64-bit integers as decimal text or numbers, enums as integers. Anything else is a 400 naming
 * the path of the offending value, and nothing of the export is written.
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Nested arrays and key-value lists deeper than this are refused (a value's tree is walked recursively). */
const MAX_VALUE_DEPTH = 32;

function field(obj: Json, camel: string): unknown {
  if (camel in obj) return obj[camel];
  const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return obj[snake];
}

function list(obj: Json, camel: string, path: string): unknown[] {
  const v = field(obj, camel);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidField(`${path}.${camel}`, 'must be an array');
  return v;
}

function object(v: unknown, path: string): Json {
  if (!isObject(v)) throw invalidField(path, 'must be an object');
  return v;
}

function text(obj: Json, camel: string, path: string): string {
  const v = field(obj, camel);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalidField(`${path}.${camel}`, 'must be a string');
  return v;
}

/** An enum or int32: a JSON integer (OTLP/JSON sends enums as integers; the name is taken too where known). */
function integer(obj: Json, camel: string, path: string, names: readonly string[] = []): number {
  const v = field(obj, camel);
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && names.includes(v)) return names.indexOf(v);
  throw invalidField(`${path}.${camel}`, 'must be an integer');
}

function hexId(obj: Json, camel: string, path: string, bytes: number, required: boolean): string | null {
  const v = field(obj, camel);
  if (v === undefined || v === null || v === '') {
    if (required) throw invalidField(`${path}.${camel}`, `is required (${bytes * 2} hex digits)`);
    return null;
  }
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-fA-F]+$/.test(v)) throw invalidField(`${path}.${camel}`, `must be ${bytes * 2} hex digits`);
  const id = v.toLowerCase();
  // The W3C trace context forbids all-zero ids.
  if (/^0+$/.test(id)) {
    if (required) throw invalidField(`${path}.${camel}`, 'must not be all zeros');
    return null;
  }
  return id;
}

/** Nanoseconds since the epoch (decimal text or a number) as milliseconds; 0 or absent is null. */
function nanosToMs(obj: Json, camel: string, path: string): number | null {
  const v = field(obj, camel);
  if (v === undefined || v === null || v === 0 || v === '0' || v === '') return null;
  let ns: bigint;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) ns = BigInt(v);
  else if (typeof v === 'number' && Number.isFinite(v) && v >= 0) ns = BigInt(Math.round(v));
  else throw invalidField(`${path}.${camel}`, 'must be nanoseconds since the epoch, as decimal text or a number');
  if (ns > 18_446_744_073_709_551_615n) throw invalidField(`${path}.${camel}`, 'is out of the range of a 64-bit unsigned integer');
  return Number(ns / 1_000_000n);
}

function anyValue(v: unknown, path: string, depth: number): AttrValue {
  if (v === undefined || v === null) return null;
  if (depth > MAX_VALUE_DEPTH) throw invalidField(path, `nested deeper than ${MAX_VALUE_DEPTH} levels`);
  const o = object(v, path);
  if ('stringValue' in o || 'string_value' in o) {
    const s = field(o, 'stringValue');
    if (typeof s !== 'string') throw invalidField(`${path}.stringValue`, 'must be a string');
    return s;
  }
  if ('boolValue' in o || 'bool_value' in o) {
    const b = field(o, 'boolValue');
    if (typeof b !== 'boolean') throw invalidField(`${path}.boolValue`, 'must be true or false');
    return b;
  }
  if ('intValue' in o || 'int_value' in o) {
    const i = field(o, 'intValue');
    if (typeof i === 'number' && Number.isInteger(i)) return i;
    if (typeof i === 'string' && /^-?\d{1,20}$/.test(i)) {
      const n = Number(i);
      // Beyond JavaScript's exact integers the decimal text is kept.
      return Number.isSafeInteger(n) ? n : i;
    }
    throw invalidField(`${path}.intValue`, 'must be an integer, as decimal text or a number');
  }
  if ('doubleValue' in o || 'double_value' in o) {
    const d = field(o, 'doubleValue');
    if (typeof d === 'number') return d;
    // The JSON mapping writes the IEEE specials as text.
    if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return null;
    if (typeof d === 'string' && d.trim() !== '' && Number.isFinite(Number(d))) return Number(d);
    throw invalidField(`${path}.doubleValue`, 'must be a number');
  }
  if ('arrayValue' in o || 'array_value' in o) {
    const a = field(o, 'arrayValue');
    if (a === null || a === undefined) return [];
    return list(object(a, `${path}.arrayValue`), 'values', `${path}.arrayValue`).map((x, i) => anyValue(x, `${path}.arrayValue.values[${i}]`, depth + 1));
  }
  if ('kvlistValue' in o || 'kvlist_value' in o) {
    const kv = field(o, 'kvlistValue');
    if (kv === null || kv === undefined) return {};
    return keyValues(list(object(kv, `${path}.kvlistValue`), 'values', `${path}.kvlistValue`), `${path}.kvlistValue.values`, depth + 1);
  }
  if ('bytesValue' in o || 'bytes_value' in o) {
    const b = field(o, 'bytesValue');
    if (typeof b !== 'string') throw invalidField(`${path}.bytesValue`, 'must be base64 text');
    return b;
  }
  return null;
}

function keyValues(items: unknown[], path: string, depth: number): Attributes {
  const out: Attributes = {};
  items.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const kv = object(item, at);
    const key = field(kv, 'key');
    if (typeof key !== 'string') throw invalidField(`${at}.key`, 'must be a string');
    // An own property even for keys such as `__proto__`.
    Object.defineProperty(out, key, { value: anyValue(field(kv, 'value'), `${at}.value`, depth), enumerable: true, writable: true, configurable: true });
  });
  return out;
}

const attributes = (obj: Json, path: string): Attributes => keyValues(list(obj, 'attributes', path), `${path}.attributes`, 0);

const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

/** Reads every span of an export; more than `maxSpans` is a 413 before any span is mapped. */
export function readTraceExport(body: unknown, opts: { maxSpans: number }): OtelSpan[] {
  if (body === undefined || body === null) return [];
  const root = object(body, 'body');
  const spans: OtelSpan[] = [];
  let count = 0;
  const resourceSpans = list(root, 'resourceSpans', 'body');
  for (const rs of resourceSpans) if (isObject(rs)) for (const ss of list(rs, 'scopeSpans', 'resourceSpans')) if (isObject(ss)) count += list(ss, 'spans', 'scopeSpans').length;
  if (count > opts.maxSpans) {
    throw new TallyError('body_too_large', `resourceSpans: ${count} spans, more than the limit of ${opts.maxSpans} in one export; export in smaller batches`, { field: 'resourceSpans' });
  }
  resourceSpans.forEach((rsValue, r) => {
    const rPath = `resourceSpans[${r}]`;
    const rs = object(rsValue, rPath);
    const resourceValue = field(rs, 'resource');
    const resource = resourceValue === undefined || resourceValue === null ? {} : attributes(object(resourceValue, `${rPath}.resource`), `${rPath}.resource`);
    list(rs, 'scopeSpans', rPath).forEach((ssValue, s) => {
      const sPath = `${rPath}.scopeSpans[${s}]`;
      const ss = object(ssValue, sPath);
      const scopeValue = field(ss, 'scope');
      const scope = isObject(scopeValue) ? { name: text(scopeValue, 'name', `${sPath}.scope`), version: text(scopeValue, 'version', `${sPath}.scope`) } : { name: '', version: '' };
      list(ss, 'spans', sPath).forEach((spanValue, i) => {
        const path = `${sPath}.spans[${i}]`;
        const span = object(spanValue, path);
        const statusValue = field(span, 'status');
        const status = isObject(statusValue)
          ? { code: integer(statusValue, 'code', `${path}.status`, STATUS_CODES), message: text(statusValue, 'message', `${path}.status`) }
          : { code: 0, message: '' };
        spans.push({
          path,
          traceId: hexId(span, 'traceId', path, 16, true)!,
          spanId: hexId(span, 'spanId', path, 8, true)!,
          parentSpanId: hexId(span, 'parentSpanId', path, 8, false),
          name: text(span, 'name', path),
          kind: integer(span, 'kind', path, SPAN_KINDS),
          startMs: nanosToMs(span, 'startTimeUnixNano', path),
          endMs: nanosToMs(span, 'endTimeUnixNano', path),
          attributes: attributes(span, path),
          events: list(span, 'events', path).map((eventValue, e) => {
            const ePath = `${path}.events[${e}]`;
            const event = object(eventValue, ePath);
            return { name: text(event, 'name', ePath), timeMs: nanosToMs(event, 'timeUnixNano', ePath), attributes: attributes(event, ePath) };
          }),
          status,
          resource,
          scope,
        });
      });
    });
  });
  return spans;
}
