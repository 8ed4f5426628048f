import { DynamicModule, Module } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { APP_LOGGER } from '../common/logging.module';
import { FixedWindowMemoryStorage } from './fixed-window-memory.store';
import { RATE_LIMIT_OPTIONS, type RateLimitOptions } from './rate-limit.options';
import { RateLimiter } from './rate-limiter.service';
import { RedisThrottlerStorage } from './redis-throttler.store';

const DEFAULT_KEY_PREFIX = 'sms-callback-bff:rl:';

/**
 * Rate-limit budgets with in-memory counters, or Redis counters shared by all instances when `redisUrl` is
 * set. Global: the rate-limit guard and the audit of requests refused while their body was read (which no
 * guard saw) both charge them.
 */
@Module({})
export class RateLimitModule {
  static forRoot(options: RateLimitOptions): DynamicModule {
    return {
      module: RateLimitModule,
      global: true,
      providers: [
        { provide: RATE_LIMIT_OPTIONS, useValue: options },
        { provide: ThrottlerStorage, inject: [APP_LOGGER], useFactory: (logger: Logger) => createStorage(options, logger.child({ component: 'rate-limit' })) },
        RateLimiter,
      ],
      // The storage too: the metrics read whether its Redis is degraded.
      exports: [RateLimiter, ThrottlerStorage],
    };
  }
}

function createStorage(options: RateLimitOptions, logger: Logger): ThrottlerStorage {
  if (!options.redisUrl) return new FixedWindowMemoryStorage();
  const redis = new Redis(options.redisUrl, {
    lazyConnect: true,
    // Fail fast while Redis is away (the storage then counts in memory) instead of queueing requests.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.redisCommandTimeoutMs ?? 100,
    connectTimeout: 2_000,
  });
  return new RedisThrottlerStorage(redis, {
    prefix: options.redisKeyPrefix ?? DEFAULT_KEY_PREFIX,
    probeIntervalMs: options.redisProbeIntervalMs ?? 1_000,
    logger,
  });
}
