import type { FastifyInstance, FastifyRequest, preParsingHookHandler, preValidationHookHandler } from 'fastify';
import { headerNamesKey } from '../auth/key-auth.js';

type Authenticate = (request: FastifyRequest) => Promise<void>;

/**
 * Routes authenticate in preValidation, after the body is parsed, because the PromptLayer SDKs may
 * send the key as the body's `api_key`. A request whose `X-API-KEY` header names the key needs no
 * body for that (nor one with `Authorization: Bearer <key>`): its key is checked before the body is read (preParsing), so a stranger's large
 * body is refused with 401 without being read into memory or parsed. The route's own hook then
 * skips the check already made. Applies to every route whose preValidation is one of
 * `authenticators`, so routes added later are covered.
 */
export function checkKeyBeforeBody(app: FastifyInstance, authenticators: readonly Authenticate[]): void {
  app.addHook('onRoute', (route) => {
    const hooks = (route.preValidation === undefined ? [] : [route.preValidation].flat()) as unknown[];
    const authenticate = hooks.find((h): h is Authenticate => authenticators.includes(h as Authenticate));
    if (authenticate === undefined) return;
    const early: preParsingHookHandler = async (request, _reply, payload) => {
      if (headerNamesKey(request)) await authenticate(request);
      return payload;
    };
    const unlessDone: preValidationHookHandler = async (request) => {
      if (request.auth === null) await authenticate(request);
    };
    route.preParsing = [...(route.preParsing === undefined ? [] : [route.preParsing].flat()), early];
    route.preValidation = hooks.map((h) => (h === authenticate ? unlessDone : h)) as preValidationHookHandler[];
  });
}
