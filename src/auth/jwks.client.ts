import { HttpService } from '@nestjs/axios';
import { createLocalJWKSet, errors, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import type { Logger } from 'pino';
import { firstValueFrom } from 'rxjs';
import { authUnavailable } from './auth.errors';

export interface JwksClientOptions {
  /** Minimum time between two fetch attempts (unknown `kid`, failed fetches). */
  cooldownMs: number;
  timeoutMs: number;
  /** Keys older than this are refreshed; while the refresh fails the old keys stay in use. */
  maxAgeMs: number;
}

type KeyLookup = ReturnType<typeof createLocalJWKSet>;
type Refresh = 'fetched' | 'failed' | 'skipped';

/**
 * The issuer's JWKS, cached. Like jose's `createRemoteJWKSet`, but (a) the cooldown counts every fetch
 * *attempt*, so an unreachable JWKS or a stream of unknown `kid`s cannot make us hammer the issuer, and
 * (b) keys past their age stay in use while a refresh fails (stale-if-error) instead of failing every token.
 * Key selection (kid, alg, kty, use) is jose's `createLocalJWKSet`. Fetched through the outbound HTTP module
 * (proxy, user agent, typed errors) with its own timeout; redirects are not followed.
 */
export class JwksClient {
  private keys?: KeyLookup;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private pending?: Promise<Refresh>;

  constructor(
    private readonly url: URL,
    private readonly options: JwksClientOptions,
    private readonly http: HttpService,
    private readonly logger: Logger,
  ) {}

  /** A jose `JWTVerifyGetKey`. Throws `AuthDeniedError` 503 when no key can be had at all. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    if (!this.keys) {
      await this.refresh();
      if (!this.keys) throw authUnavailable();
    } else if (Date.now() - this.fetchedAt >= this.options.maxAgeMs) {
      await this.refresh();
    }
    const keys = this.keys;
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // Unknown kid: the issuer may have rotated keys. One refetch per cooldown, then the answer stands.
      const refreshed = await this.refresh();
      if (refreshed === 'failed') throw authUnavailable(error);
      if (refreshed === 'skipped') throw error;
      return this.keys(header, token);
    }
  };

  private refresh(): Promise<Refresh> {
    if (this.pending) return this.pending; // concurrent requests share one fetch
    if (Date.now() - this.attemptedAt < this.options.cooldownMs) return Promise.resolve('skipped');
    this.attemptedAt = Date.now();
    this.pending = this.fetchKeys()
      .then((): Refresh => 'fetched')
      .catch((error: unknown): Refresh => {
        this.logger.warn({ jwks: this.url.origin, reason: describe(error) }, 'JWKS fetch failed');
        return 'failed';
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  private async fetchKeys(): Promise<void> {
    const response = await firstValueFrom(
      this.http.get<string>(this.url.href, {
        timeout: this.options.timeoutMs,
        headers: { accept: 'application/jwk-set+json, application/json' },
        responseType: 'text',
        transformResponse: [(data: unknown) => data],
        validateStatus: () => true,
      }),
    );
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    // createLocalJWKSet rejects anything that is not a JWK Set.
    this.keys = createLocalJWKSet(JSON.parse(response.data) as JSONWebKeySet);
    this.fetchedAt = Date.now();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}
