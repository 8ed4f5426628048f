import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiSecurity, type DocumentBuilder } from '@nestjs/swagger';
import type { Caller, Scope } from './caller';

/** Metadata key of the scope a route requires; routes without it are public. */
export const AUTH_SCOPE = 'bff:auth-scope';

/** Names of the OpenAPI security schemes. */
export const BEARER_SCHEME = 'bearer';
export const API_KEY_SCHEME = 'api-key';
export const SDK_SIGNATURE_SCHEME = 'sdk-hmac-sha256';

/**
 * The one decorator of a protected route: the guard requires a caller with `scope` (and access to the
 * route's `project_id`, when it has one), and OpenAPI lists bearer JWT, API key *or* an AK/SK signature as
 * its security.
 */
export function Authenticated(scope: Scope): ClassDecorator & MethodDecorator {
  return applyDecorators(SetMetadata(AUTH_SCOPE, scope), ApiBearerAuth(BEARER_SCHEME), ApiSecurity(API_KEY_SCHEME), ApiSecurity(SDK_SIGNATURE_SCHEME));
}

/**
 * Declares the security schemes, so Swagger UI's "Authorize" works with a token or a key. OpenAPI has no
 * scheme for a signature over the whole request, so the AK/SK one is described as the header it is.
 */
export function addSecuritySchemes(builder: DocumentBuilder): DocumentBuilder {
  return builder
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token of the configured issuer.' }, BEARER_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'Service API key.' }, API_KEY_SCHEME)
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'Authorization',
        description:
          '`SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`: the request signed, with `X-Sdk-Date`, by an SMN SDK with a BFF-issued access key (README, caller AK/SK). A signature of one request, not a token to paste.',
      },
      SDK_SIGNATURE_SCHEME,
    );
}

/** The authenticated caller of an `@Authenticated` route. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<FastifyRequest>().caller;
  if (!caller) throw new Error('CurrentCaller used on a route without @Authenticated');
  return caller;
});
