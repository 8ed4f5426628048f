import { ThrottlerStorage } from '@nestjs/throttler';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { createHash, randomUUID } from 'node:crypto';
import pino from 'pino';
import request from 'supertest';
import type { ApiKeyEntry } from '../../src/auth/auth.options';
import { RedisThrottlerStorage } from '../../src/rate-limit/redis-throttler.store';
import { waitFor } from '../support/audit-backend';
import { FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { createAuthTestApp, PROJECT_A } from './support/auth-test-app';

const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const PATH = `/v2/${PROJECT_A}/thing`;
const KEY = `caller-${randomUUID()}`;
const API_KEYS: ApiKeyEntry[] = [{ name: 'caller', sha256: createHash('sha256').update(KEY).digest('hex'), scopes: ['sms-callback:read'], projects: '*' }];
/** Long on purpose: a request that waited on the stalled Redis would take this long, one that did not takes milliseconds. */
const COMMAND_TIMEOUT_MS = 3_000;

/**
 * Redis stalled (a TCP proxy that stops forwarding, the hardest case: nothing fails fast) costs at most one
 * command timeout to the requests in flight when it stalls; after that requests count in memory without
 * waiting, and a background probe notices Redis is back, with no request paying for it.
 */
describe('rate limits while Redis stalls', () => {
  let proxy: FaultProxy;
  let app: NestFastifyApplication;
  let storage: RedisThrottlerStorage;
  const prefix = `sms-callback-bff:test:${randomUUID()}:`;
  const logs: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    proxy = await startFaultProxy(REDIS_URL);
    app = await createAuthTestApp({
      auth: { apiKeys: API_KEYS },
      rateLimit: {
        caller: { ttlMs: 60_000, limit: 1_000 },
        anonymousIp: { ttlMs: 60_000, limit: 1_000 },
        redisUrl: proxy.via(REDIS_URL),
        redisKeyPrefix: prefix,
        redisCommandTimeoutMs: COMMAND_TIMEOUT_MS,
        redisProbeIntervalMs: 100,
      },
      logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    });
    storage = app.get(ThrottlerStorage);
  });
  afterAll(async () => {
    proxy?.restore();
    await app?.close();
    await proxy?.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  const get = async () => {
    const started = performance.now();
    const res = await request(app.getHttpServer()).get(PATH).set('X-Api-Key', KEY);
    return { status: res.status, ms: performance.now() - started, remaining: Number(res.headers['ratelimit-remaining']) };
  };
  const sharedHits = async (): Promise<number> => {
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}*:hits`);
      return keys.length ? Number(await redis.get(keys[0])) : 0;
    } finally {
      await redis.quit();
    }
  };

  it('counts in memory without waiting while degraded, shows it, and shares counting again by itself once Redis answers', async () => {
    expect(storage).toBeInstanceOf(RedisThrottlerStorage);
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(200);
    expect(await sharedHits()).toBe(3);
    expect(storage.degraded).toBe(false);

    proxy.blackhole();
    // The request in flight when Redis stalls pays one command timeout, then Redis counts as degraded.
    const first = await get();
    expect(first.status).toBe(200);
    expect(storage.degraded).toBe(true);
    expect(logs.filter((l) => l.msg === 'Redis unavailable, rate limits are per instance until it is back')).toHaveLength(1);

    // From then on nobody waits for Redis: each answer comes long before a command timeout could end.
    const during = [];
    for (let i = 0; i < 20; i++) during.push(await get());
    expect(during.filter((r) => r.status !== 200)).toEqual([]);
    expect(during.filter((r) => r.ms >= COMMAND_TIMEOUT_MS / 3)).toEqual([]);

    // Back without a request paying for the try: the probe finds it, then counts are shared again.
    proxy.restore();
    await waitFor('the probe to see Redis back', async () => !storage.degraded, 10_000);
    expect(logs.filter((l) => l.msg === 'Redis is back; rate-limit counters are shared again.')).toHaveLength(1);
    const after = await get();
    expect(after.status).toBe(200);
    // 3 before, the stalled one (its bytes sat in the paused connection and reached Redis after the restore, as
    // retransmission would deliver them), and this one; the 20 counted in memory are not Redis's.
    expect(await sharedHits()).toBe(5);
    expect(after.remaining).toBe(1_000 - 5);
  }, 60_000);
});
