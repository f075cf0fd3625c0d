import { Type } from '@sinclair/typebox';
import { LIMITS } from '../domain/limits.js';
import { ScoreName } from './common.js';

/** OTLP/JSON's ExportTraceServiceResponse: `partialSuccess` only when spans were rejected or there is a warning. */
export const TraceExportReply = Type.Object(
  {
    partialSuccess: Type.Optional(
      Type.Object({
        rejectedSpans: Type.String({ description: 'int64 as decimal text (OTLP/JSON): spans dropped (not LLM calls, or unusable)' }),
        errorMessage: Type.String({ description: 'why they were dropped; also notes spans that were already stored' }),
      }),
    ),
  },
  { description: 'A protobuf request is answered with the protobuf ExportTraceServiceResponse (application/x-protobuf).' },
);

/** A span id as OTLP/JSON writes it (16 hex digits), or whatever a PromptLayer client logged as `span_id`. */
export const SpanIdParam = Type.String({ minLength: 1, maxLength: LIMITS.shortText, description: 'the span id the request was logged with (16 hex digits for OTLP spans)' });

export const SpanScoreParams = Type.Object({ span_id: SpanIdParam, name: ScoreName });
