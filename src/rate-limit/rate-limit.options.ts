/** One budget: at most `limit` requests per `ttlMs` window. */
export interface RateLimitBudget {
  ttlMs: number;
  limit: number;
}

export interface RateLimitOptions {
  /** Per authenticated caller (`kind:subject[:client]`). */
  caller: RateLimitBudget;
  /** Per source IP, charged only by requests that fail authentication. */
  anonymousIp: RateLimitBudget;
  /** When set, counters live in Redis so that all instances share them. */
  redisUrl?: string;
  /** Prefix of every Redis key; tests use a unique one per run. Default `sms-callback-bff:rl:`. */
  redisKeyPrefix?: string;
}

export const RATE_LIMIT_OPTIONS = Symbol('RATE_LIMIT_OPTIONS');
