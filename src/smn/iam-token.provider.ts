import { HttpService } from '@nestjs/axios';
import { isCancel } from 'axios';
import { firstValueFrom } from 'rxjs';
import { BffError } from '../common/bff-error';
import type { IamTokenAuth } from '../config/app-config';
import { HttpTimeoutError } from '../http/outbound-http.errors';
import { IamTokenError, SmnAuthFailedError, SmnTimeoutError, SmnUnavailableError } from './smn.errors';
import type { UpstreamResilience } from './upstream-resilience';

interface CachedToken {
  token: string;
  /** When to fetch a new one: before expiry, so no request carries a token about to lapse. */
  refreshAtMs: number;
}

/**
 * IAM token mode (README, Upstream): a project-scoped token from `POST /v3/auth/tokens`, cached per project,
 * refreshed before `expires_at`, with one fetch in flight however many requests wait for it, and dropped
 * when SMN answers 401. Fetches run under IAM's own timeout, retries and circuit breaker (`resilience`), and
 * fail as `IamTokenError`, which SMN's policy neither retries nor counts.
 */
export class IamTokenProvider {
  private readonly cache = new Map<string, CachedToken>();
  private readonly inFlight = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly http: HttpService,
    private readonly auth: IamTokenAuth,
    private readonly timeoutMs: number,
    private readonly resilience: UpstreamResilience,
    private readonly now: () => number = Date.now,
  ) {}

  async tokenFor(projectId: string): Promise<string> {
    const cached = this.cache.get(projectId);
    if (cached && this.now() < cached.refreshAtMs) return cached.token;
    let pending = this.inFlight.get(projectId);
    if (!pending) {
      pending = this.fetch(projectId).finally(() => this.inFlight.delete(projectId));
      this.inFlight.set(projectId, pending);
    }
    return (await pending).token;
  }

  /** SMN refused the token: forget it (only if no newer one replaced it meanwhile). */
  invalidate(projectId: string, token: string): void {
    if (this.cache.get(projectId)?.token === token) this.cache.delete(projectId);
  }

  private async fetch(projectId: string): Promise<CachedToken> {
    try {
      // Not tied to one caller's signal: several requests may be waiting for this token.
      return await this.resilience.execute(this.auth.iamEndpoint, (signal) => this.request(projectId, signal), undefined, 'issueToken');
    } catch (error) {
      throw error instanceof BffError ? new IamTokenError(error) : error;
    }
  }

  private async request(projectId: string, signal: AbortSignal): Promise<CachedToken> {
    const body = {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: this.auth.user, password: this.auth.password, domain: { name: this.auth.domain } } },
        },
        scope: { project: { id: projectId } },
      },
    };
    let response;
    try {
      response = await firstValueFrom(
        this.http.post<{ token?: { expires_at?: string } }>(`${this.auth.iamEndpoint}/v3/auth/tokens`, body, {
          timeout: this.timeoutMs,
          signal,
          validateStatus: () => true,
        }),
      );
    } catch (error) {
      if (error instanceof HttpTimeoutError) throw new SmnTimeoutError('IAM did not issue a token in time.');
      // The deadline aborted the attempt; the resilience layer reports the deadline.
      if (isCancel(error)) throw error;
      throw new SmnUnavailableError('IAM could not be reached for a token.', undefined, true, error);
    }
    const token = response.headers['x-subject-token'];
    const expiresAtMs = Date.parse(response.data?.token?.expires_at ?? '');
    if (response.status === 401 || response.status === 403 || response.status === 400) {
      throw new SmnAuthFailedError({ status: response.status });
    }
    if (response.status !== 201 || typeof token !== 'string' || Number.isNaN(expiresAtMs)) {
      throw new SmnUnavailableError(`IAM failed to issue a token (HTTP ${response.status}).`, { status: response.status }, response.status >= 500);
    }
    const issuedAtMs = this.now();
    // Refresh early, but never so early that a short-lived token is refetched on every request.
    const margin = Math.min(this.auth.refreshBeforeMs, (expiresAtMs - issuedAtMs) / 2);
    const cached = { token, refreshAtMs: expiresAtMs - margin };
    this.cache.set(projectId, cached);
    return cached;
  }
}
