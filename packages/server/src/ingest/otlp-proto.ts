import protobuf from 'protobufjs';
import { invalidField } from '../domain/errors.js';

/**
 * The messages of OTLP's trace export (opentelemetry-proto v1: collector/trace/v1,
 * trace/v1, common/v1, resource/v1) that Tally reads, for protobufjs to encode and decode. Names
 * and field numbers are the specification's; fields Tally does not read (links, flags, dropped
 * counts, schema URLs) are left out, and protobufjs skips them on the wire. Enums are read as
 * their integers, as OTLP's JSON form sends them.
 */
const SCHEMA = `
syntax = "proto3";
package tally.otlp;

message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }

message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }

message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  repeated Event events = 11;
  Status status = 15;
}
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Status { string message = 2; int32 code = 3; }

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
`;

const root = protobuf.parse(SCHEMA).root;
const RequestType = root.lookupType('tally.otlp.ExportTraceServiceRequest');
const ResponseType = root.lookupType('tally.otlp.ExportTraceServiceResponse');

/**
 * A protobuf ExportTraceServiceRequest as OTLP's JSON form writes it (lowerCamelCase keys, trace
 * and span ids as hex, 64-bit integers as decimal text, `bytesValue` as base64), so one reader
 * (otlp-spans.ts) serves both encodings. A body that is not such a message is a 400.
 */
export function decodeTraceRequest(body: Buffer): unknown {
  let message: protobuf.Message;
  try {
    message = RequestType.decode(body);
  } catch (err) {
    throw invalidField('body', `is not a protobuf ExportTraceServiceRequest (${err instanceof Error ? err.message : 'undecodable'})`);
  }
  const json = RequestType.toObject(message, { longs: String, bytes: String, arrays: false, defaults: false, oneofs: false }) as {
    resourceSpans?: { scopeSpans?: { spans?: Record<string, unknown>[] }[] }[];
  };
  for (const rs of json.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        for (const id of ['traceId', 'spanId', 'parentSpanId']) {
          const v = span[id];
          if (typeof v === 'string') span[id] = Buffer.from(v, 'base64').toString('hex');
        }
      }
    }
  }
  return json;
}

/** An ExportTraceServiceResponse; `partialSuccess` only when a span was rejected or there is something to say. */
export interface TraceResponse {
  partialSuccess?: { rejectedSpans: number; errorMessage: string };
}

export function encodeTraceResponse(response: TraceResponse): Buffer {
  return Buffer.from(ResponseType.encode(ResponseType.fromObject(response)).finish());
}

/** The JSON form of the response (int64 as decimal text, as OTLP's JSON mapping writes it). */
export function jsonTraceResponse(response: TraceResponse): Record<string, unknown> {
  if (!response.partialSuccess) return {};
  return { partialSuccess: { rejectedSpans: String(response.partialSuccess.rejectedSpans), errorMessage: response.partialSuccess.errorMessage } };
}
