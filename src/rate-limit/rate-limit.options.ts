import type { RateLimitConfig } from '../config/app-config';

export type { RateLimitBudget } from '../config/app-config';

/** The configured budgets (per caller, per source IP) and Redis; the Redis knobs default as in the configuration. */
export type RateLimitOptions = Omit<RateLimitConfig, 'redisUrl' | 'redisCommandTimeoutMs' | 'redisProbeIntervalMs' | 'redisKeyPrefix'> &
  Partial<Pick<RateLimitConfig, 'redisCommandTimeoutMs' | 'redisProbeIntervalMs' | 'redisKeyPrefix'>> & {
    redisUrl?: string;
  };

export const RATE_LIMIT_OPTIONS = Symbol('RATE_LIMIT_OPTIONS');
