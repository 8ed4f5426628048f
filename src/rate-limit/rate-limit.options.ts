import type { RateLimitConfig } from '../config/app-config';

export type { RateLimitBudget } from '../config/app-config';

/** The configured budgets (per caller, per source IP) and Redis, plus a knob that only tests turn. */
export type RateLimitOptions = Omit<RateLimitConfig, 'redisUrl' | 'redisCommandTimeoutMs' | 'redisProbeIntervalMs'> &
  Partial<Pick<RateLimitConfig, 'redisCommandTimeoutMs' | 'redisProbeIntervalMs'>> & {
    redisUrl?: string;
    /** Prefix of every Redis key; tests use a unique one per run. Default `sms-callback-bff:rl:`. */
    redisKeyPrefix?: string;
  };

export const RATE_LIMIT_OPTIONS = Symbol('RATE_LIMIT_OPTIONS');
