import type { HttpService } from '@nestjs/axios';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, errors, jwtVerify, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AuthDeniedError, unauthenticated } from './auth.errors';
import type { JwtOptions } from './auth.options';
import type { Caller } from './caller';
import { JwksClient } from './jwks.client';
import type { Logger } from 'pino';

const DEFAULT_COOLDOWN_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 5_000;
const JWKS_MAX_AGE_MS = 10 * 60_000;

/** Verifies bearer JWTs and turns their claims into a `Caller`. */
export class JwtAuthenticator {
  constructor(
    private readonly options: JwtOptions,
    private readonly getKey: JWTVerifyGetKey,
  ) {}

  /** `http`: the outbound HTTP module's client, for the JWKS. */
  static fromOptions(options: JwtOptions, http: HttpService, logger: Logger): JwtAuthenticator {
    const getKey = options.jwksUrl
      ? new JwksClient(
          new URL(options.jwksUrl),
          {
            cooldownMs: options.jwksCooldownMs ?? DEFAULT_COOLDOWN_MS,
            timeoutMs: options.jwksTimeoutMs ?? DEFAULT_TIMEOUT_MS,
            maxAgeMs: JWKS_MAX_AGE_MS,
          },
          http,
          logger,
        ).getKey
      : localKeys(loadKeyFile(String(options.publicKeyFile)));
    return new JwtAuthenticator(options, getKey);
  }

  async authenticate(token: string): Promise<Caller> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.getKey, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: this.options.algorithms,
        clockTolerance: this.options.clockToleranceSec,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw toAuthError(error);
    }
    const clientId = text(payload.client_id) ?? text(payload.azp);
    // Client-credentials tokens may carry no `sub`; the client is then the subject.
    const subject = text(payload.sub) ?? clientId;
    if (!subject) throw unauthenticated('invalid_claims', 'The access token names no subject.');
    return {
      kind: 'jwt',
      subject,
      clientId,
      scopes: scopesOf(payload),
      projects: projectsOf(payload[this.options.projectsClaim]),
    };
  }
}

/** Scopes from `scope` (space-separated, RFC 8693/9068) and `scp` (array, or a string as some issuers send). */
function scopesOf(payload: JWTPayload): ReadonlySet<string> {
  const scopes = new Set<string>();
  for (const claim of [payload.scope, payload.scp]) {
    const list = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
    for (const s of list) if (typeof s === 'string' && s) scopes.add(s);
  }
  return scopes;
}

/** `"*"` grants every project; an array lists ids; anything else grants none (403 on project routes). */
function projectsOf(claim: unknown): ReadonlySet<string> | '*' {
  if (claim === '*') return '*';
  if (!Array.isArray(claim)) return new Set();
  return new Set(claim.filter((p): p is string => typeof p === 'string'));
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}

function toAuthError(error: unknown): Error {
  if (error instanceof AuthDeniedError) return error; // 503 from the JWKS client
  if (error instanceof errors.JWTExpired) return unauthenticated('token_expired', 'The access token has expired.', true, error);
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
        return unauthenticated('token_not_yet_valid', 'The access token is not valid yet.', true, error);
      case 'iss':
        return unauthenticated('wrong_issuer', 'The access token was not issued for this service.', true, error);
      case 'aud':
        return unauthenticated('wrong_audience', 'The access token was not issued for this service.', true, error);
      default:
        return unauthenticated('invalid_claims', 'The access token is invalid.', true, error);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return unauthenticated('algorithm_not_allowed', 'The access token is signed with an algorithm that is not accepted.', true, error);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return unauthenticated('bad_signature', 'The access token is invalid.', true, error);
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return unauthenticated('unknown_key', 'The access token is signed with an unknown key.', true, error);
  }
  if (error instanceof errors.JOSEError) return unauthenticated('token_malformed', 'The access token is malformed.', true, error);
  // Not a verdict on the token (a bug, or a key that cannot be imported): let it surface as a 500.
  return error instanceof Error ? error : new Error(String(error));
}

/** A key file with one key and no `kid` (a PEM, typically) verifies whatever `kid` the issuer puts in its tokens. */
function localKeys(set: { keys: JWK[] }): JWTVerifyGetKey {
  const lookup = createLocalJWKSet(set);
  if (set.keys.length !== 1 || set.keys[0].kid) return lookup;
  return (header, token) => lookup({ ...header, kid: undefined }, token);
}

/**
 * Reads a local verification key: a JWK or JWK Set (JSON), or a PEM public key / certificate. Every key is
 * reduced to its public part, and symmetric keys are refused (they would allow HS* tokens).
 */
export function loadKeyFile(path: string): { keys: JWK[] } {
  const text = readFileSync(path, 'utf8');
  if (text.trimStart().startsWith('{')) {
    const json = JSON.parse(text) as JWK | { keys: JWK[] };
    const keys = 'keys' in json && Array.isArray(json.keys) ? json.keys : [json as JWK];
    return { keys: keys.map(publicJwk) };
  }
  return { keys: [createPublicKey(text).export({ format: 'jwk' }) as JWK] };
}

function publicJwk(jwk: JWK): JWK {
  if (jwk.kty === 'oct') throw new Error('JWT key file: symmetric (oct) keys are not accepted');
  const { kid, alg, use } = jwk;
  const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  return { ...(key.export({ format: 'jwk' }) as JWK), ...(kid && { kid }), ...(alg && { alg }), ...(use && { use }) };
}
