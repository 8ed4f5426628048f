import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { base64url, exportSPKI, SignJWT, UnsecuredJWT } from 'jose';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { JwtOptions } from '../../src/auth/auth.options';
import { AuthEvents } from '../../src/auth/auth-events';
import { fakeDate } from '../support/clock';
import { createAuthTestApp, expectRefusal, expectUnauthenticated, failureReasons, PROJECT_A } from './support/auth-test-app';
import { AUDIENCE, deadUrl, ISSUER, JwksServer, PROJECTS_CLAIM, signToken, testKey, type TestKey } from './support/jwks-server';

const PATH = `/v2/${PROJECT_A}/thing`;

function jwtOptions(jwksUrl: string, extra: Partial<JwtOptions> = {}): JwtOptions {
  return {
    jwksUrl,
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['RS256', 'ES256', 'EdDSA'],
    clockToleranceSec: 30,
    projectsClaim: PROJECTS_CLAIM,
    jwksCooldownMs: 60_000,
    ...extra,
  };
}

describe('bearer JWT', () => {
  let jwks: JwksServer;
  let app: NestFastifyApplication;
  let rsa: TestKey;
  let ec: TestKey;
  let ed: TestKey;
  let stranger: TestKey;

  beforeAll(async () => {
    [rsa, ec, ed, stranger] = await Promise.all([testKey('RS256', 'rsa-1'), testKey('ES256', 'ec-1'), testKey('EdDSA', 'ed-1'), testKey('RS256', 'rsa-1')]);
    jwks = new JwksServer();
    jwks.keys = [rsa.jwk, ec.jwk, ed.jwk];
    app = await createAuthTestApp({ auth: { jwt: jwtOptions(await jwks.start()) } });
    app.get(AuthEvents).onFailure((event) => reasons.push(event.reason));
  });

  let reasons: string[] = [];
  beforeEach(() => {
    reasons = [];
  });

  afterAll(async () => {
    await app.close();
    await jwks.stop();
  });

  const get = (authorization?: string) => {
    const req = request(app.getHttpServer()).get(PATH);
    return authorization === undefined ? req : req.set('Authorization', authorization);
  };

  it.each([
    ['RS256', () => rsa],
    ['ES256', () => ec],
    ['EdDSA', () => ed],
  ])('accepts a valid %s token', async (_alg, key) => {
    const res = await get(`Bearer ${await signToken(key())}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ project_id: PROJECT_A });
  });

  it('accepts a token that expired within the clock tolerance', async () => {
    expect((await get(`Bearer ${await signToken(rsa, { expiresIn: -10 })}`)).status).toBe(200);
  });

  it('rejects a request without credentials', async () => {
    expectUnauthenticated(await get(), false);
    expect(reasons).toEqual(['missing_credentials']);
  });

  it('rejects a malformed Authorization header', async () => {
    expectUnauthenticated(await get('Token abc.def.ghi'), false);
    expect(reasons).toEqual(['malformed_credentials']);
  });

  it('rejects a bearer value that is not a JWT', async () => {
    expectUnauthenticated(await get('Bearer not-a-jwt'));
    expect(reasons).toEqual(['token_malformed']);
  });

  it('rejects alg "none"', async () => {
    const token = new UnsecuredJWT({ scope: 'sms-callback:read', [PROJECTS_CLAIM]: '*' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('mallory')
      .setExpirationTime('5m')
      .encode();
    expectUnauthenticated(await get(`Bearer ${token}`));
    expect(reasons).toEqual(['algorithm_not_allowed']);
  });

  it('rejects HS256 signed with the RSA public key as the secret', async () => {
    const secret = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const token = await new SignJWT({ scope: 'sms-callback:read', [PROJECTS_CLAIM]: '*' })
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('mallory')
      .setExpirationTime('5m')
      .sign(secret);
    expectUnauthenticated(await get(`Bearer ${token}`));
    expect(reasons).toEqual(['algorithm_not_allowed']);
  });

  it('rejects an expired token', async () => {
    expectUnauthenticated(await get(`Bearer ${await signToken(rsa, { expiresIn: -120 })}`));
    expect(reasons).toEqual(['token_expired']);
  });

  it('rejects a token whose nbf is in the future', async () => {
    expectUnauthenticated(await get(`Bearer ${await signToken(rsa, { notBefore: 120 })}`));
    expect(reasons).toEqual(['token_not_yet_valid']);
  });

  it('rejects a token without exp', async () => {
    const token = await new SignJWT({ scope: 'sms-callback:read', [PROJECTS_CLAIM]: '*' })
      .setProtectedHeader({ alg: 'RS256', kid: rsa.kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('alice')
      .sign(rsa.privateKey);
    expectUnauthenticated(await get(`Bearer ${token}`));
    expect(reasons).toEqual(['invalid_claims']);
  });

  it('rejects a wrong issuer', async () => {
    expectUnauthenticated(await get(`Bearer ${await signToken(rsa, { issuer: 'https://evil.test' })}`));
    expect(reasons).toEqual(['wrong_issuer']);
  });

  it('rejects a wrong audience', async () => {
    expectUnauthenticated(await get(`Bearer ${await signToken(rsa, { audience: 'another-service' })}`));
    expect(reasons).toEqual(['wrong_audience']);
  });

  it('rejects a signature made with another key under a published kid', async () => {
    expectUnauthenticated(await get(`Bearer ${await signToken(stranger)}`));
    expect(reasons).toEqual(['bad_signature']);
  });

  it('rejects a tampered payload', async () => {
    const [header, , signature] = (await signToken(rsa, { claims: { [PROJECTS_CLAIM]: [] } })).split('.');
    const now = Math.floor(Date.now() / 1000);
    const forged = base64url.encode(
      JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', exp: now + 300, scope: 'sms-callback:read', [PROJECTS_CLAIM]: '*' }),
    );
    expectUnauthenticated(await get(`Bearer ${header}.${forged}.${signature}`));
    expect(reasons).toEqual(['bad_signature']);
  });

  it('rejects a 16 KiB token with 401 (the server takes headers up to 32 KiB; the guard refuses over 8 KiB)', async () => {
    const token = `${await signToken(rsa)}${'A'.repeat(16 * 1024)}`;
    expectUnauthenticated(await get(`Bearer ${token}`));
    expect(reasons).toEqual(['token_too_large']);
  });

  it('rejects a 12 KiB token before parsing it', async () => {
    const token = `${await signToken(rsa)}${'A'.repeat(12 * 1024)}`;
    expectUnauthenticated(await get(`Bearer ${token}`));
    expect(reasons).toEqual(['token_too_large']);
  });

  it('rejects a validly signed token larger than 8 KiB', async () => {
    const token = await signToken(rsa, { claims: { padding: 'x'.repeat(9 * 1024) } });
    expectUnauthenticated(await get(`Bearer ${token}`));
    expect(reasons).toEqual(['token_too_large']);
  });
});

describe('JWKS refetch and rotation', () => {
  // Long, and passed by moving the clock: a busy machine cannot make two requests fall on either side of it.
  const COOLDOWN_MS = 60_000;
  let jwks: JwksServer;
  let app: NestFastifyApplication;
  let current: TestKey;
  let clock: ReturnType<typeof fakeDate>;

  beforeEach(async () => {
    clock = fakeDate();
    current = await testKey('ES256', 'current');
    jwks = new JwksServer();
    jwks.keys = [current.jwk];
    app = await createAuthTestApp({ auth: { jwt: jwtOptions(await jwks.start(), { jwksCooldownMs: COOLDOWN_MS }) } });
  });

  afterEach(async () => {
    jest.useRealTimers();
    await app.close();
    await jwks.stop();
  });

  const get = async (token: string) => request(app.getHttpServer()).get(PATH).set('Authorization', `Bearer ${token}`);

  it('refetches once for an unknown kid, then not again within the cooldown', async () => {
    expect((await get(await signToken(current))).status).toBe(200);
    expect(jwks.fetches).toBe(1);
    clock.advance(COOLDOWN_MS + 1);

    const reasons = failureReasons(app);
    const ghost = await testKey('ES256', 'ghost-1');
    expectUnauthenticated(await get(await signToken(ghost)));
    expect(jwks.fetches).toBe(2);

    const ghost2 = await testKey('ES256', 'ghost-2');
    expectUnauthenticated(await get(await signToken(ghost2)));
    expect(jwks.fetches).toBe(2);
    expect(reasons).toEqual(['unknown_key', 'unknown_key']);
    // Known keys keep working without a fetch.
    expect((await get(await signToken(current))).status).toBe(200);
    expect(jwks.fetches).toBe(2);
  });

  it('accepts a newly published kid without a restart', async () => {
    expect((await get(await signToken(current))).status).toBe(200);
    const next = await testKey('RS256', 'next');
    jwks.keys = [current.jwk, next.jwk];
    clock.advance(COOLDOWN_MS + 1);

    expect((await get(await signToken(next))).status).toBe(200);
    expect(jwks.fetches).toBe(2);
  });

  it('keeps the cached keys when the JWKS goes down', async () => {
    expect((await get(await signToken(current))).status).toBe(200);
    await jwks.stop();
    jwks = new JwksServer(); // afterEach stops this one instead
    await jwks.start();
    expect((await get(await signToken(current))).status).toBe(200);
  });
});

describe('JWKS unavailable', () => {
  it('answers 503 BFF.AUTH_UNAVAILABLE while no key is cached', async () => {
    const key = await testKey('RS256', 'rsa-1');
    const app = await createAuthTestApp({ auth: { jwt: jwtOptions(await deadUrl(), { jwksTimeoutMs: 1_000 }) } });
    try {
      const res = await request(app.getHttpServer())
        .get(PATH)
        .set('Authorization', `Bearer ${await signToken(key)}`);
      expectRefusal(res, 503, 'BFF.AUTH_UNAVAILABLE');
    } finally {
      await app.close();
    }
  });
});

describe('local key file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bff-auth-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function acceptsWith(file: string, key: TestKey): Promise<number> {
    const app = await createAuthTestApp({ auth: { jwt: { ...jwtOptions(''), jwksUrl: undefined, publicKeyFile: file } } });
    try {
      return (
        await request(app.getHttpServer())
          .get(PATH)
          .set('Authorization', `Bearer ${await signToken(key)}`)
      ).status;
    } finally {
      await app.close();
    }
  }

  it('verifies with a PEM public key', async () => {
    const key = await testKey('RS256', 'pem');
    const file = join(dir, 'key.pem');
    await writeFile(file, await exportSPKI(key.publicKey));
    expect(await acceptsWith(file, key)).toBe(200);
  });

  it('verifies with a JWK Set file', async () => {
    const key = await testKey('EdDSA', 'jwk');
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [key.jwk] }));
    expect(await acceptsWith(file, key)).toBe(200);
  });

  it('refuses to start with a symmetric key', async () => {
    const file = join(dir, 'oct.json');
    await writeFile(file, JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' }));
    await expect(acceptsWith(file, await testKey('RS256', 'x'))).rejects.toThrow(/symmetric/);
  });
});
