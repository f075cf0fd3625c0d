import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TallyError, type ErrorCode, type ItemProblem } from '../domain/errors.js';
import { lookup } from '../domain/lookup.js';
import { DatabaseUnavailableError } from '../store/database-errors.js';
import { describeValidation } from './validation.js';

// Codes of refusals made by the HTTP layer itself, outside the domain's catalogue.
type WireCode = ErrorCode | 'bad_request' | 'request_timeout' | 'headers_too_large';

function send(reply: FastifyReply, status: number, code: WireCode, message: string, retryAfter?: number, errors?: ItemProblem[]) {
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send(errors === undefined ? { success: false, message, code } : { success: false, message, code, errors });
}

// Fastify's own client errors, mapped to the catalogue with messages that name what was wrong.
const FASTIFY_CLIENT_ERRORS: Record<string, { code: ErrorCode; message: (limit?: number) => string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'body_too_large', message: (limit) => `body: larger than the limit of ${limit} bytes` },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', message: () => 'content-type: must be application/json' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_json', message: () => 'body: is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'invalid_json', message: () => 'body: is empty but content-type is application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'invalid_json', message: () => 'content-length: does not match the body' },
};

/**
 * Errors the router raises before any route runs (a path with malformed percent-encoding such as
 * `/v1/requests/%ED%A0%80`): passed to Fastify as `frameworkErrors`, so they too get the JSON shape.
 */
export function answerFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (err.code === 'FST_ERR_BAD_URL') return send(reply, 400, 'bad_request', `url: ${request.url.split('?')[0]} is not a valid URL (malformed percent-encoding)`);
  const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  return send(reply, status, 'bad_request', `request: ${err.message}`);
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (headers over the size limit, a
 * request that timed out, malformed HTTP): passed to Fastify as `clientErrorHandler`, so they too
 * get Tally's shape. The socket is closed after the answer, as Node and Fastify do.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let code: WireCode = 'bad_request';
  let message = 'request: not a valid HTTP request';
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    code = 'headers_too_large';
    message = `headers: the request line and headers are larger than the limit of ${maxHeaderSize} bytes (a long query string: send the search as a POST body)`;
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    code = 'request_timeout';
    message = 'request: not received in full within the request timeout';
  }
  const body = JSON.stringify({ success: false, message, code });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/**
 * The one place errors become responses: `{ success: false, message, code }`. Unknown errors get a
 * fixed body; their detail goes to the server log only.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | TallyError, request, reply) => {
    if (err instanceof DatabaseUnavailableError) {
      // The operator's clue: what the database said (never the query or its values).
      request.log.error({ problem: err.problem, driverCode: err.driverCode }, `database unavailable: ${err.problem}`);
    }
    if (err instanceof TallyError) return send(reply, err.status, err.code, err.message, err.retryAfter, err.errors);
    if (err.validation) {
      const { message } = describeValidation(err.validation as never, err.validationContext ?? 'body');
      return send(reply, 400, 'invalid_field', message);
    }
    const known = lookup(FASTIFY_CLIENT_ERRORS, err.code);
    if (known) {
      const limit = request.routeOptions.bodyLimit;
      return send(reply, err.statusCode ?? 400, known.code, known.message(limit));
    }
    if (err.statusCode === 403) {
      // The static file server refusing a path that leaves its folder (`/assets/..%5c..%5cx`).
      return send(reply, 403, 'forbidden', `url: ${request.url.split('?')[0]} is outside the served files`);
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      // Other parser refusals (e.g. a `__proto__` key): the message is Fastify's own and safe to show.
      return send(reply, err.statusCode, 'bad_request', `body: ${err.message}`);
    }
    request.log.error({ err }, 'unhandled error');
    return send(reply, 500, 'internal', 'internal error');
  });

  app.setNotFoundHandler((request, reply) => send(reply, 404, 'not_found', `route: no route for ${request.method} ${request.url.split('?')[0]}`));
}
