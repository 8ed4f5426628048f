import type { FastifyRequest } from 'fastify';
import type { AuthEvents } from './auth-events';
import type { AuthDeniedError } from './auth.errors';

/**
 * Refuses the request with `error`: records why on the request (the access log and tests read it) and tells
 * the listeners (metrics). Every guard refusal goes through here, so each is counted once.
 */
export function deny(request: FastifyRequest, error: AuthDeniedError, events: AuthEvents): AuthDeniedError {
  request.authFailure = error.toFailure();
  events.emitFailure({ ...request.authFailure, method: request.method, route: request.routeOptions.url });
  return error;
}
