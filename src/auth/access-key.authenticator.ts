import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { rawBodyOf } from '../common/json-body';
import { canonicalRequest, formatSdkDate, SDK_SIGNING_ALGORITHM, stringToSign } from '../smn/signing/aksk-signer';
import type { AccessKeyEntry } from './auth.options';
import { unauthenticated } from './auth.errors';
import type { Caller } from './caller';

/** How far `X-Sdk-Date` may be from the server's clock, either way: the gateway's window (docs/upstream-smn.md §8.1). */
export const SDK_DATE_WINDOW_MS = 15 * 60_000;

/** The header the SDKs send (docs/upstream-smn.md §8.1, step 5): one space after the algorithm, `", "` between the parts. */
const AUTHORIZATION = new RegExp(`^${SDK_SIGNING_ALGORITHM} Access=([^,\\s]+), SignedHeaders=([^,\\s]+), Signature=([0-9a-f]{64})$`);
const SIGNED_HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const SDK_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** True for an `Authorization` value that claims to be an SDK signature (then no other scheme applies). */
export function isSdkSignature(authorization: string): boolean {
  return authorization.startsWith(`${SDK_SIGNING_ALGORITHM} `);
}

interface IssuedKey {
  key: KeyObject;
  caller: Caller;
}

/**
 * BFF-issued access keys, for services that already speak SMN through a Huawei SDK (README, caller AK/SK):
 * the request is verified as the gateway in front of SMN verifies it, with the canonicalisation of our own
 * signer (src/smn/signing/aksk-signer.ts) — one definition of the algorithm, proven against the official
 * SDK. `host` and `x-sdk-date` must be signed, the date must be within the window, the body is always
 * covered (no `UNSIGNED-PAYLOAD`), and signatures are compared in constant time. Secrets are held as key
 * objects and never leave this class; the caller is the key's name.
 */
export class AccessKeyAuthenticator {
  private readonly byAccessKey = new Map<string, IssuedKey>();

  constructor(
    entries: readonly AccessKeyEntry[],
    /** Epoch milliseconds; injected so that tests move time instead of waiting. */
    private readonly now: () => number = Date.now,
  ) {
    for (const entry of entries) {
      this.byAccessKey.set(entry.accessKeyId, {
        key: createSecretKey(Buffer.from(entry.secret, 'utf8')),
        caller: {
          kind: 'access-key',
          subject: entry.name,
          scopes: new Set(entry.scopes),
          projects: entry.projects === '*' ? '*' : new Set(entry.projects),
        },
      });
    }
  }

  /** The caller whose key signed `request`, or throws the 401 `AuthDeniedError` saying what did not hold. */
  authenticate(request: FastifyRequest, authorization: string): Caller {
    const parsed = AUTHORIZATION.exec(authorization);
    if (!parsed) {
      throw unauthenticated(
        'malformed_credentials',
        `The Authorization header must be "${SDK_SIGNING_ALGORITHM} Access=<access key id>, SignedHeaders=<names>, Signature=<64 hex>".`,
      );
    }
    const [, accessKeyId, signedHeaderList, signature] = parsed;
    const signedHeaders = signedHeaderList.split(';');
    if (!signedHeaders.every((name) => SIGNED_HEADER_NAME.test(name)) || new Set(signedHeaders).size !== signedHeaders.length) {
      throw unauthenticated('malformed_credentials', 'SignedHeaders must list lower-case header names, each once, separated by ";".');
    }
    // Without host the request could be replayed to another service; without the date, for ever.
    if (!signedHeaders.includes('host') || !signedHeaders.includes('x-sdk-date')) {
      throw unauthenticated('malformed_credentials', 'The signature must cover the host and x-sdk-date headers.');
    }
    // The body must be what was signed: a signature that leaves it out would let anyone on the path change it.
    if (signedHeaders.includes('x-sdk-content-sha256')) {
      throw unauthenticated('malformed_credentials', 'Unsigned payloads (x-sdk-content-sha256) are not accepted; sign the body.');
    }

    const sdkDate = request.headers['x-sdk-date'];
    const signedAt = typeof sdkDate === 'string' ? parseSdkDate(sdkDate) : undefined;
    if (typeof sdkDate !== 'string' || signedAt === undefined) {
      throw unauthenticated('malformed_credentials', 'The X-Sdk-Date header must be the signing time as YYYYMMDDTHHMMSSZ (UTC).');
    }
    const now = this.now();
    if (Math.abs(now - signedAt) > SDK_DATE_WINDOW_MS) {
      throw unauthenticated(
        'signature_expired',
        `X-Sdk-Date is more than ${SDK_DATE_WINDOW_MS / 60_000} minutes from the server time (${new Date(now).toISOString()}); check the client's clock and sign again.`,
      );
    }

    const issued = this.byAccessKey.get(accessKeyId);
    if (!issued) throw unauthenticated('unknown_access_key', 'The access key is not valid.');

    const expected = this.signatureOf(request, signedHeaders, sdkDate, issued.key);
    if (!expected || !timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      throw unauthenticated(
        'signature_mismatch',
        'The signature does not match the request: check the secret key, and that nothing signed (method, path, query, signed headers, body) changed after signing.',
      );
    }
    return issued.caller;
  }

  /** The signature the request should carry, or undefined when it cannot be canonicalised (a signed header is absent, a path not in wire form). */
  private signatureOf(request: FastifyRequest, signedHeaders: string[], sdkDate: string, key: KeyObject): Buffer | undefined {
    const headers: Record<string, string> = {};
    for (const name of signedHeaders) {
      const value = request.headers[name];
      if (value === undefined) return undefined;
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const queryAt = request.url.indexOf('?');
    try {
      const canonical = canonicalRequest({
        method: request.method,
        path: queryAt === -1 ? request.url : request.url.slice(0, queryAt),
        query: queryAt === -1 ? '' : request.url.slice(queryAt + 1),
        headers,
        body: rawBodyOf(request),
      });
      return createHmac('sha256', key).update(stringToSign(sdkDate, canonical.text)).digest();
    } catch (error) {
      // The signer refuses what no client could have signed as sent; such a request does not verify.
      if (error instanceof TypeError) return undefined;
      throw error;
    }
  }
}

/** Epoch milliseconds of a basic-format `X-Sdk-Date`, or undefined when it is not one (a round trip rejects `20241340T…`). */
function parseSdkDate(value: string): number | undefined {
  const m = SDK_DATE.exec(value);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return formatSdkDate(new Date(ms)) === value ? ms : undefined;
}
