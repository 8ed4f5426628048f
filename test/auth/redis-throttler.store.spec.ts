import pino from 'pino';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisThrottlerStorage } from '../../src/rate-limit/redis-throttler.store';

// Real Redis; the key prefix is unique per run and removed afterwards.
const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

describe('RedisThrottlerStorage', () => {
  const prefix = `sms-callback-bff:test:${randomUUID()}:`;
  let store: RedisThrottlerStorage;

  beforeAll(() => {
    store = new RedisThrottlerStorage(new Redis(REDIS_URL), { prefix, probeIntervalMs: 1_000, logger: pino({ level: 'silent' }) });
  });

  afterAll(async () => {
    await store.onApplicationShutdown();
    const cleaner = new Redis(REDIS_URL);
    const keys = await cleaner.keys(`${prefix}*`);
    if (keys.length) await cleaner.del(...keys);
    await cleaner.quit();
  });

  it('counts hits in a window and reports its remaining time in seconds', async () => {
    const key = randomUUID();
    const records = [];
    for (let i = 0; i < 3; i++) records.push(await store.increment(key, 60_000, 5, 60_000, 'caller'));
    expect(records.map((r) => r.totalHits)).toEqual([1, 2, 3]);
    expect(records.every((r) => !r.isBlocked && r.timeToBlockExpire === 0)).toBe(true);
    expect(records[2].timeToExpire).toBeGreaterThan(58);
    expect(records[2].timeToExpire).toBeLessThanOrEqual(60);
  });

  it('blocks past the limit for the block duration without counting further hits', async () => {
    const key = randomUUID();
    await store.increment(key, 60_000, 2, 5_000, 'caller');
    await store.increment(key, 60_000, 2, 5_000, 'caller');
    const third = await store.increment(key, 60_000, 2, 5_000, 'caller');
    expect(third).toMatchObject({ isBlocked: true, timeToBlockExpire: 5 });
    const fourth = await store.increment(key, 60_000, 2, 5_000, 'caller');
    expect(fourth.isBlocked).toBe(true);
    expect(fourth.timeToBlockExpire).toBeLessThanOrEqual(5);
  });

  it('starts a fresh window once the block has ended', async () => {
    const key = randomUUID();
    expect((await store.increment(key, 200, 1, 200, 'ip')).isBlocked).toBe(false);
    expect((await store.increment(key, 200, 1, 200, 'ip')).isBlocked).toBe(true);
    await sleep(250);
    expect(await store.increment(key, 200, 1, 200, 'ip')).toMatchObject({ isBlocked: false, totalHits: 1 });
  });

  it('keeps budgets of different throttler names apart', async () => {
    const key = randomUUID();
    await store.increment(key, 60_000, 1, 60_000, 'caller');
    expect((await store.increment(key, 60_000, 1, 60_000, 'caller')).isBlocked).toBe(true);
    expect((await store.increment(key, 60_000, 1, 60_000, 'ip')).isBlocked).toBe(false);
  });

  it('is atomic under concurrency', async () => {
    const key = randomUUID();
    const records = await Promise.all(Array.from({ length: 50 }, () => store.increment(key, 60_000, 10, 60_000, 'caller')));
    expect(records.filter((r) => !r.isBlocked)).toHaveLength(10);
  });

  it('falls back to per-instance memory while Redis is unreachable', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    const logger = pino({ level: 'silent' });
    const logged = jest.spyOn(logger, 'error');
    const fallback = new RedisThrottlerStorage(down, { prefix, probeIntervalMs: 1_000, logger });
    await fallback.onModuleInit();
    expect(await fallback.increment('k', 60_000, 1, 60_000, 'caller')).toMatchObject({ totalHits: 1, isBlocked: false });
    expect((await fallback.increment('k', 60_000, 1, 60_000, 'caller')).isBlocked).toBe(true);
    await fallback.onApplicationShutdown();
    // One line per outage, not one per request.
    expect(logged).toHaveBeenCalledTimes(1);
    logged.mockRestore();
  });
});
