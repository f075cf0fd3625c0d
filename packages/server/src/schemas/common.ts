import { Type, type ObjectOptions, type TSchema } from '@sinclair/typebox';
import { LIMITS } from '../domain/limits.js';

/**
 * The wire type `T`, which compiles only while `T` has every field of the domain's `Shape` (the
 * fields its rules read), each of a type those rules accept: a schema and the rule reading what
 * it checked cannot drift apart.
 */
export type Carries<T extends Shape & Record<Exclude<keyof Shape, keyof T>, never>, Shape> = T;

/** An id as the SDKs send it: a positive integer, or a decimal string of one. */
export const Id = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[1-9][0-9]{0,15}$' })], {
  description: 'must be a positive integer id',
});

/** Epoch seconds (int or float) or an ISO 8601 string. */
export const Timestamp = Type.Union([Type.Number(), Type.String({ maxLength: 64 })], {
  description: 'must be epoch seconds or an ISO 8601 date-time',
});

export const Score = Type.Integer({ minimum: 0, maximum: 100, description: 'must be an integer from 0 to 100' });
export const ScoreName = Type.String({ minLength: 1, maxLength: LIMITS.scoreName });

export const Tags = Type.Array(Type.String({ maxLength: LIMITS.tag }), { maxItems: LIMITS.tagsPerRequest });

/**
 * The keys of a record: any property name. Type.Record's own key pattern, `^(.*)$`, fails names
 * holding a line break (`.` stops at CR, LF, U+2028 and U+2029), so Ajv left their values
 * unchecked (metadata `{"a\nb": {}}` reached the database and failed there with a 500) and
 * fast-json-stringify left them out of answers.
 */
const AnyKey = Type.String({ pattern: '^[\\s\\S]*$' });

/** An object with keys of any text whose values all match `value`: every record schema is made here. */
export const RecordOf = <T extends TSchema>(value: T, options?: ObjectOptions) => Type.Record(AnyKey, value, options);

/** A JSON object as logged (parameters, prompt variables). */
export const JsonObject = RecordOf(Type.Unknown());

// A Record's key schema sets only the pattern of its keys; their length needs propertyNames.
export const Metadata = RecordOf(Type.String({ maxLength: LIMITS.metadataValue }), {
  maxProperties: LIMITS.metadataEntries,
  propertyNames: { maxLength: LIMITS.metadataKey },
  description: `must be an object of at most ${LIMITS.metadataEntries} entries, keys of at most ${LIMITS.metadataKey} characters, string values`,
});

/** The key may come in the body (what the SDKs' track calls send) instead of `X-API-KEY`. */
export const ApiKeyField = Type.Optional(Type.String({ maxLength: 256 }));

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ErrorBody = Type.Object({
  success: Type.Literal(false),
  message: Type.String(),
  code: Type.String(),
});

export const TrackOk = Type.Object({ success: Type.Literal(true), message: Type.String() });
