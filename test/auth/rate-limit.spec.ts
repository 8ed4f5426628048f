import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { createHash, randomUUID } from 'node:crypto';
import request, { type Response } from 'supertest';
import type { ApiKeyEntry } from '../../src/auth/auth.options';
import type { RateLimitOptions } from '../../src/rate-limit/rate-limit.options';
import { createAuthTestApp, expectRefusal, failureReasons, PROJECT_A } from './support/auth-test-app';

const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const PATH = `/v2/${PROJECT_A}/thing`;
const KEYS = ['first', 'second', 'third'].map((name) => ({ name, key: `${name}-${randomUUID()}` }));
const API_KEYS: ApiKeyEntry[] = KEYS.map(({ name, key }) => ({
  name,
  sha256: createHash('sha256').update(key).digest('hex'),
  scopes: ['sms-callback:read'],
  projects: '*',
}));
const [FIRST, SECOND, THIRD] = KEYS.map((k) => k.key);
const LIMITS: RateLimitOptions = { caller: { ttlMs: 60_000, limit: 3 }, anonymousIp: { ttlMs: 60_000, limit: 2 } };

const get = (app: NestFastifyApplication, key?: string) => {
  const req = request(app.getHttpServer()).get(PATH);
  return key === undefined ? req : req.set('X-Api-Key', key);
};

function expectRateLimited(res: Response): void {
  expectRefusal(res, 429, 'BFF.RATE_LIMITED');
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(res.headers['www-authenticate']).toBeUndefined();
}

describe('rate limits (in memory)', () => {
  let app: NestFastifyApplication;

  beforeEach(async () => {
    app = await createAuthTestApp({ auth: { apiKeys: API_KEYS }, rateLimit: LIMITS });
  });

  afterEach(async () => {
    await app.close();
  });

  it('answers the N+1-th request of a caller in the window with 429 and Retry-After', async () => {
    const reasons = failureReasons(app);
    for (let i = 0; i < 3; i++) expect((await get(app, FIRST)).status).toBe(200);
    expectRateLimited(await get(app, FIRST));
    expect(reasons).toEqual(['rate_limited_caller']);
    // Another caller has its own budget.
    expect((await get(app, SECOND)).status).toBe(200);
  });

  it('limits repeated bad credentials per source IP without touching good callers', async () => {
    const reasons = failureReasons(app);
    expect((await get(app, 'wrong-1')).status).toBe(401);
    expect((await get(app)).status).toBe(401);
    expectRateLimited(await get(app, 'wrong-2'));
    expectRateLimited(await get(app));
    expect(reasons).toEqual(['unknown_api_key', 'missing_credentials', 'rate_limited_ip', 'rate_limited_ip']);
    // Same IP, valid credentials: charged to the caller, not to the spent IP budget.
    expect((await get(app, THIRD)).status).toBe(200);
  });

  it('announces the budget on every limited answer (RateLimit-Limit, -Remaining, -Reset), the 429 and 401 included', async () => {
    const seen: Array<[number, string, string, string]> = [];
    for (let i = 0; i < 4; i++) {
      const res = await get(app, FIRST);
      seen.push([res.status, res.headers['ratelimit-limit'], res.headers['ratelimit-remaining'], res.headers['ratelimit-reset']]);
    }
    expect(seen.map(([status, limit, remaining]) => [status, limit, remaining])).toEqual([
      [200, '3', '2'],
      [200, '3', '1'],
      [200, '3', '0'],
      [429, '3', '0'],
    ]);
    for (const [, , , reset] of seen) expect(Number(reset)).toBeGreaterThanOrEqual(1);
    for (const [, , , reset] of seen) expect(Number(reset)).toBeLessThanOrEqual(60);
    const anonymous = await get(app, 'wrong');
    expect(anonymous.status).toBe(401);
    expect([anonymous.headers['ratelimit-limit'], anonymous.headers['ratelimit-remaining']]).toEqual(['2', '1']);
    // Public routes are not limited, so they announce nothing.
    expect((await request(app.getHttpServer()).get('/public')).headers['ratelimit-limit']).toBeUndefined();
  });

  it('does not limit public routes', async () => {
    for (let i = 0; i < 10; i++) expect((await request(app.getHttpServer()).get('/public')).status).toBe(200);
  });
});

describe('rate limits shared through Redis', () => {
  const prefix = `sms-callback-bff:test:${randomUUID()}:`;
  const shared: RateLimitOptions = { ...LIMITS, redisUrl: REDIS_URL, redisKeyPrefix: prefix };
  let one: NestFastifyApplication;
  let two: NestFastifyApplication;

  beforeAll(async () => {
    one = await createAuthTestApp({ auth: { apiKeys: API_KEYS }, rateLimit: shared });
    two = await createAuthTestApp({ auth: { apiKeys: API_KEYS }, rateLimit: shared });
  });

  afterAll(async () => {
    await Promise.all([one.close(), two.close()]);
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('gives two instances one caller budget', async () => {
    expect((await get(one, FIRST)).status).toBe(200);
    expect((await get(two, FIRST)).status).toBe(200);
    expect((await get(one, FIRST)).status).toBe(200);
    expectRateLimited(await get(two, FIRST));
    expectRateLimited(await get(one, FIRST));
  });

  it('gives two instances one IP budget for failed authentication', async () => {
    expect((await get(one, 'wrong')).status).toBe(401);
    expect((await get(two, 'wrong')).status).toBe(401);
    expectRateLimited(await get(one, 'wrong'));
    expect((await get(two, SECOND)).status).toBe(200);
  });
});
