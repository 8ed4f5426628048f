import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiSecurity, type DocumentBuilder } from '@nestjs/swagger';
import type { Caller, Scope } from './caller';

/** Metadata key of the scope a route requires; routes without it are public. */
export const AUTH_SCOPE = 'bff:auth-scope';

/** Names of the OpenAPI security schemes. */
export const BEARER_SCHEME = 'bearer';
export const API_KEY_SCHEME = 'api-key';

/**
 * The one decorator of a protected route: the guard requires a caller with `scope` (and access to the
 * route's `project_id`, when it has one), and OpenAPI lists bearer JWT *or* API key as its security.
 */
export function Authenticated(scope: Scope): ClassDecorator & MethodDecorator {
  return applyDecorators(SetMetadata(AUTH_SCOPE, scope), ApiBearerAuth(BEARER_SCHEME), ApiSecurity(API_KEY_SCHEME));
}

/** Declares both security schemes, so Swagger UI's "Authorize" works with either. */
export function addSecuritySchemes(builder: DocumentBuilder): DocumentBuilder {
  return builder
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token of the configured issuer.' }, BEARER_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'Service API key.' }, API_KEY_SCHEME);
}

/** The authenticated caller of an `@Authenticated` route. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<FastifyRequest>().caller;
  if (!caller) throw new Error('CurrentCaller used on a route without @Authenticated');
  return caller;
});
