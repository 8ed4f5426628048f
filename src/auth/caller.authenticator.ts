import type { FastifyRequest } from 'fastify';
import { isSdkSignature, type AccessKeyAuthenticator } from './access-key.authenticator';
import type { ApiKeyAuthenticator } from './api-key.authenticator';
import { unauthenticated } from './auth.errors';
import type { Caller } from './caller';
import type { JwtAuthenticator } from './jwt.authenticator';

/** Larger tokens are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8 * 1024;
const MAX_API_KEY_LENGTH = 1024;
export const API_KEY_HEADER = 'x-api-key';
/** Credentials in URLs end up in access logs, proxies and browser history, so they are refused, not ignored. */
const QUERY_CREDENTIALS: ReadonlySet<string> = new Set(['api_key', 'apikey', 'access_token', 'x-api-key']);

/**
 * Finds out who is calling: a bearer JWT, an API key (including the development key) or an AK/SK signature
 * (`Authorization: SDK-HMAC-SHA256 …`, as SMN SDKs send it) — exactly one of them.
 */
export class CallerAuthenticator {
  constructor(
    private readonly jwt: JwtAuthenticator | undefined,
    private readonly apiKeys: ApiKeyAuthenticator,
    private readonly accessKeys: AccessKeyAuthenticator,
  ) {}

  /** The caller, or throws `AuthDeniedError` (401, or 503 when the issuer's keys are unavailable). */
  async authenticate(request: FastifyRequest): Promise<Caller> {
    if (hasQueryCredential(request.query)) {
      throw unauthenticated('credentials_in_query', 'Credentials are not accepted in the query string; send an Authorization or X-Api-Key header.');
    }
    const authorization = request.headers.authorization;
    const apiKey = request.headers[API_KEY_HEADER];
    if (authorization !== undefined && apiKey !== undefined) {
      throw unauthenticated('malformed_credentials', 'Send one credential: an Authorization header (bearer token or AK/SK signature) or an API key, not both.');
    }
    if (apiKey !== undefined) return this.byApiKey(apiKey);
    if (authorization !== undefined && isSdkSignature(authorization)) return this.bySignature(request, authorization);
    if (authorization !== undefined) return this.byBearer(authorization);
    throw unauthenticated('missing_credentials', 'Authentication required: send a bearer token, an AK/SK signature or an X-Api-Key header.', false);
  }

  private bySignature(request: FastifyRequest, authorization: string): Caller {
    if (authorization.length > MAX_TOKEN_LENGTH) {
      throw unauthenticated('malformed_credentials', `The Authorization header exceeds ${MAX_TOKEN_LENGTH} bytes.`);
    }
    return this.accessKeys.authenticate(request, authorization);
  }

  private byApiKey(key: string | string[]): Caller {
    if (typeof key !== 'string' || !key || key.length > MAX_API_KEY_LENGTH) {
      throw unauthenticated('malformed_credentials', 'The X-Api-Key header is malformed.');
    }
    const caller = this.apiKeys.authenticate(key);
    if (!caller) throw unauthenticated('unknown_api_key', 'The API key is not valid.');
    return caller;
  }

  private async byBearer(authorization: string): Promise<Caller> {
    // "Bearer " plus the token; checked before any parsing so huge headers cost nothing.
    if (authorization.length > MAX_TOKEN_LENGTH + 7) {
      throw unauthenticated('token_too_large', `The access token exceeds ${MAX_TOKEN_LENGTH} bytes.`);
    }
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match) {
      throw unauthenticated('malformed_credentials', 'The Authorization header must be "Bearer <token>".', false);
    }
    if (!this.jwt) throw unauthenticated('malformed_credentials', 'Bearer tokens are not accepted here; send an X-Api-Key header.');
    return this.jwt.authenticate(match[1]);
  }
}

function hasQueryCredential(query: unknown): boolean {
  return typeof query === 'object' && query !== null && Object.keys(query).some((name) => QUERY_CREDENTIALS.has(name.toLowerCase()));
}
