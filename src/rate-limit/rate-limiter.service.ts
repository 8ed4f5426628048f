import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerStorage, normalizeIp } from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import { RATE_LIMIT_OPTIONS, type RateLimitOptions } from './rate-limit.options';

export type RateLimitBudgetName = keyof Pick<RateLimitOptions, 'caller' | 'anonymousIp'>;

export interface RateLimitDecision {
  allowed: boolean;
  /** Seconds until the tracker may try again; 0 when allowed. */
  retryAfterSec: number;
  /** The budget's size, what is left of it in this window, and the seconds until the window resets. */
  limit: number;
  remaining: number;
  resetSec: number;
}

/**
 * Charges one request to a budget, through the `ThrottlerStorage` contract of `@nestjs/throttler`.
 * Not the library's `ThrottlerGuard`: that guard cannot charge the IP budget only after authentication
 * has failed, which is the rule here (README, Caller authentication), so the rate-limit guard calls this instead.
 */
@Injectable()
export class RateLimiter {
  constructor(
    @Inject(RATE_LIMIT_OPTIONS) private readonly options: RateLimitOptions,
    @Inject(ThrottlerStorage) private readonly storage: ThrottlerStorage,
  ) {}

  /** Charges a request without valid credentials to its source IP (IPv6 grouped by /64). */
  chargeAnonymous(ip: string): Promise<RateLimitDecision> {
    return this.charge('anonymousIp', `ip:${normalizeIp(ip)}`);
  }

  /** `tracker` identifies who is charged, e.g. `jwt:alice:frontend` or an IP; it is hashed before storage. */
  async charge(budget: RateLimitBudgetName, tracker: string): Promise<RateLimitDecision> {
    const { ttlMs, limit } = this.options[budget];
    const key = createHash('sha256').update(tracker).digest('hex');
    // Block for one window once the limit is passed, as ThrottlerGuard does by default.
    const record = await this.storage.increment(key, ttlMs, limit, ttlMs, budget);
    if (record.isBlocked) {
      const retryAfterSec = Math.max(1, record.timeToBlockExpire);
      return { allowed: false, retryAfterSec, limit, remaining: 0, resetSec: retryAfterSec };
    }
    return { allowed: true, retryAfterSec: 0, limit, remaining: Math.max(0, limit - record.totalHits), resetSec: Math.max(1, record.timeToExpire) };
  }
}
