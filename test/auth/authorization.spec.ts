import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createAuthTestApp, expectRefusal, failureReasons, PROJECT_A, PROJECT_B } from './support/auth-test-app';
import { AUDIENCE, ISSUER, JwksServer, PROJECTS_CLAIM, signToken, testKey, type TestKey } from './support/jwks-server';

describe('scopes and project access (JWT)', () => {
  let jwks: JwksServer;
  let app: NestFastifyApplication;
  let key: TestKey;
  let reasons: string[];

  beforeAll(async () => {
    key = await testKey('RS256', 'rsa-1');
    jwks = new JwksServer();
    jwks.keys = [key.jwk];
    const jwksUrl = await jwks.start();
    app = await createAuthTestApp({
      auth: {
        jwt: { jwksUrl, issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'], clockToleranceSec: 30, projectsClaim: PROJECTS_CLAIM },
      },
    });
    reasons = failureReasons(app);
  });

  beforeEach(() => reasons.splice(0));

  afterAll(async () => {
    await app.close();
    await jwks.stop();
  });

  const bearer = async (claims: Record<string, unknown>) => `Bearer ${await signToken(key, { claims })}`;

  it('403 for a valid token without the scope', async () => {
    const token = await bearer({ scope: 'sms-callback:read', [PROJECTS_CLAIM]: [PROJECT_A] });
    const res = await request(app.getHttpServer()).put(`/v2/${PROJECT_A}/thing`).set('Authorization', token).send({});
    expectRefusal(res, 403, 'BFF.FORBIDDEN');
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(reasons).toEqual(['missing_scope']);
  });

  it('403 for a project not in the claim', async () => {
    const token = await bearer({ scope: 'sms-callback:read', [PROJECTS_CLAIM]: [PROJECT_A] });
    expect((await request(app.getHttpServer()).get(`/v2/${PROJECT_A}/thing`).set('Authorization', token)).status).toBe(200);
    const res = await request(app.getHttpServer()).get(`/v2/${PROJECT_B}/thing`).set('Authorization', token);
    expectRefusal(res, 403, 'BFF.FORBIDDEN');
    expect(reasons).toEqual(['project_denied']);
  });

  it('403 when the projects claim is missing', async () => {
    const token = await bearer({ scope: 'sms-callback:read', [PROJECTS_CLAIM]: undefined });
    expectRefusal(await request(app.getHttpServer()).get(`/v2/${PROJECT_A}/thing`).set('Authorization', token), 403, 'BFF.FORBIDDEN');
  });

  it('"*" grants every project', async () => {
    const token = await bearer({ scope: 'sms-callback:read sms-callback:write', [PROJECTS_CLAIM]: '*' });
    for (const project of [PROJECT_A, PROJECT_B]) {
      expect((await request(app.getHttpServer()).get(`/v2/${project}/thing`).set('Authorization', token)).status).toBe(200);
      expect((await request(app.getHttpServer()).put(`/v2/${project}/thing`).set('Authorization', token).send({})).status).toBe(200);
    }
  });

  it('takes scopes from an scp array', async () => {
    const token = await bearer({ scope: undefined, scp: ['sms-callback:write'], [PROJECTS_CLAIM]: [PROJECT_A] });
    expect((await request(app.getHttpServer()).put(`/v2/${PROJECT_A}/thing`).set('Authorization', token).send({})).status).toBe(200);
    expectRefusal(await request(app.getHttpServer()).get(`/v2/${PROJECT_A}/thing`).set('Authorization', token), 403, 'BFF.FORBIDDEN');
  });

  it('checks the audit scope on a route without project_id', async () => {
    const withScope = await bearer({ scope: 'audit:read', [PROJECTS_CLAIM]: [] });
    expect((await request(app.getHttpServer()).get('/audit/things').set('Authorization', withScope)).status).toBe(200);
    const without = await bearer({ scope: 'sms-callback:read', [PROJECTS_CLAIM]: '*' });
    expectRefusal(await request(app.getHttpServer()).get('/audit/things').set('Authorization', without), 403, 'BFF.FORBIDDEN');
  });

  it('leaves routes without the decorator public', async () => {
    const res = await request(app.getHttpServer()).get('/public');
    expect(res.status).toBe(200);
    expect(reasons).toEqual([]);
  });
});
