import { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { FixedWindowMemoryStorage } from './fixed-window-memory.store';
import type { Redis } from 'ioredis';

/**
 * Fixed window counter with blocking, in one atomic step so several instances can share it.
 * KEYS[1] hit counter, KEYS[2] block marker; ARGV: window ms, limit, block ms.
 * Returns {hits, window ms left, blocked 0/1, block ms left}.
 * Like the library's in-memory storage, hits over the limit start a block of `blockDuration`, during
 * which nothing is counted, and the window starts afresh once the block ends.
 */
const THROTTLE_SCRIPT = `
local blockLeft = redis.call('PTTL', KEYS[2])
if blockLeft > 0 then
  return {tonumber(ARGV[2]) + 1, blockLeft, 1, blockLeft}
end
local hits = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if hits == 1 or left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
if hits > tonumber(ARGV[2]) then
  local block = tonumber(ARGV[3])
  if block > 0 then
    redis.call('SET', KEYS[2], '1', 'PX', block)
    redis.call('DEL', KEYS[1])
    return {hits, block, 1, block}
  end
  return {hits, left, 1, left}
end
return {hits, left, 0, 0}
`;

/** Not exported by the package index. */
type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;
type ThrottleReply = [hits: number, leftMs: number, blocked: number, blockLeftMs: number];
interface ThrottleCommand {
  bffThrottle(counterKey: string, blockKey: string, ttlMs: number, limit: number, blockMs: number): Promise<ThrottleReply>;
}

export interface RedisThrottlerStorageOptions {
  /** Prefix of every key. */
  prefix: string;
  /** While degraded, how often a background PING looks for Redis. */
  probeIntervalMs: number;
  logger: Logger;
}

/**
 * `ThrottlerStorage` on Redis (`@nest-lab/throttler-storage-redis` declares Nest <= 11 only).
 * When Redis cannot answer, counting falls back to per-instance memory rather than refusing traffic:
 * limits become per instance until Redis is back, and authentication still guards every route.
 *
 * A breaker in its simplest form, with the cost bounded both ways: one failed or timed-out command (the
 * client's short command timeout) marks Redis degraded, and from then on requests count in memory without
 * touching Redis at all; a background PING, not a request, finds out when it is back. So a stalled Redis
 * costs at most one timeout to the requests in flight when it stalls, not one to every request.
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown {
  private readonly fallback = new FixedWindowMemoryStorage();
  private degradedSince?: number;
  private probe?: NodeJS.Timeout;
  private readonly logger: Logger;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisThrottlerStorageOptions,
  ) {
    this.logger = options.logger;
    redis.defineCommand('bffThrottle', { numberOfKeys: 2, lua: THROTTLE_SCRIPT });
    // Without a listener ioredis prints every connection error; one line per outage is enough.
    redis.on('error', (error: Error) => this.markDegraded(error));
  }

  /** Whether counting is per instance for now (Redis failed and has not answered a probe since). */
  get degraded(): boolean {
    return this.degradedSince !== undefined;
  }

  async onModuleInit(): Promise<void> {
    if (this.redis.status !== 'wait') return; // not a lazyConnect client: it connects by itself
    await this.redis.connect().catch((error: Error) => this.markDegraded(error));
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    if (this.degraded) return this.fallback.increment(key, ttl, limit, blockDuration, throttlerName);
    // The hash tag {…} keeps both keys in one slot, as a Redis Cluster requires for a script.
    const base = `${this.options.prefix}{${throttlerName}:${key}}`;
    try {
      const [hits, leftMs, blocked, blockLeftMs] = await (this.redis as unknown as ThrottleCommand).bffThrottle(
        `${base}:hits`,
        `${base}:block`,
        Math.max(1, Math.ceil(ttl)),
        limit,
        Math.max(0, Math.ceil(blockDuration)),
      );
      return { totalHits: hits, timeToExpire: seconds(leftMs), isBlocked: blocked === 1, timeToBlockExpire: blocked ? seconds(blockLeftMs) : 0 };
    } catch (error) {
      this.markDegraded(error);
      return this.fallback.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.probe);
    this.fallback.onApplicationShutdown();
    if (this.redis.status === 'end') return;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private markDegraded(error: unknown): void {
    if (this.degraded) return;
    this.degradedSince = Date.now();
    this.logger.error({ err: error }, 'Redis unavailable, rate limits are per instance until it is back');
    let probing = false;
    this.probe = setInterval(() => {
      if (probing) return;
      probing = true;
      this.redis
        .ping()
        .then(
          () => this.recovered(),
          () => undefined,
        )
        .finally(() => (probing = false));
    }, this.options.probeIntervalMs);
    // Never what keeps the process alive.
    this.probe.unref();
  }

  private recovered(): void {
    if (!this.degraded) return;
    clearInterval(this.probe);
    this.probe = undefined;
    this.logger.info({ degraded_ms: Date.now() - this.degradedSince! }, 'Redis is back; rate-limit counters are shared again.');
    this.degradedSince = undefined;
  }
}

/** Same unit as the library's storage records: whole seconds, rounded up. */
function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
