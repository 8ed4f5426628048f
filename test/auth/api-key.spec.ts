import type { LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import pino from 'pino';
import request from 'supertest';
import { DEVELOPMENT_API_KEY, resolveDevelopmentKey, type ApiKeyEntry } from '../../src/auth/auth.options';
import { createAuthTestApp, expectRefusal, expectUnauthenticated, failureReasons, PROJECT_A, PROJECT_B } from './support/auth-test-app';

const REPORTING_KEY = 'rpt_4f7c1e9a2b8d4c6e8f0a1b3c5d7e9f21';
const OPS_KEY = 'ops_0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d';
const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

const KEYS: ApiKeyEntry[] = [
  { name: 'reporting', sha256: sha256(REPORTING_KEY), scopes: ['sms-callback:read'], projects: [PROJECT_A] },
  { name: 'ops', sha256: sha256(OPS_KEY).toUpperCase(), scopes: ['sms-callback:read', 'sms-callback:write', 'audit:read'], projects: '*' },
];

describe('API keys', () => {
  const lines: string[] = [];
  const nestLogger: LoggerService = {
    log: (m: unknown) => lines.push(String(m)),
    warn: (m: unknown) => lines.push(String(m)),
    error: (m: unknown) => lines.push(String(m)),
    debug: (m: unknown) => lines.push(String(m)),
    verbose: (m: unknown) => lines.push(String(m)),
  };
  const seen: { caller?: string; failure?: string }[] = [];
  let app: NestFastifyApplication;
  let reasons: string[];

  beforeAll(async () => {
    const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
    // The hook shows what an audit hook sees: the actor and the refusal, also for denied requests.
    const configure = (nest: NestFastifyApplication) =>
      nest
        .getHttpAdapter()
        .getInstance()
        .addHook('onResponse', async (req: FastifyRequest) => {
          seen.push({ caller: req.caller?.subject, failure: req.authFailure?.reason });
        });
    app = await createAuthTestApp({ auth: { apiKeys: KEYS }, logger, nestLogger, configure });
    reasons = failureReasons(app);
  });

  beforeEach(() => {
    reasons.splice(0);
    seen.splice(0);
  });

  afterAll(async () => {
    await app.close();
  });

  const get = (path: string, key?: string) => {
    const req = request(app.getHttpServer()).get(path);
    return key === undefined ? req : req.set('X-Api-Key', key);
  };

  it('accepts a key within its scopes and projects', async () => {
    expect((await get(`/v2/${PROJECT_A}/thing`, REPORTING_KEY)).status).toBe(200);
    expect(seen).toEqual([{ caller: 'reporting', failure: undefined }]);
  });

  it('refuses a key outside its projects or scopes with 403, naming the actor', async () => {
    expectRefusal(await get(`/v2/${PROJECT_B}/thing`, REPORTING_KEY), 403, 'BFF.FORBIDDEN');
    expectRefusal(await request(app.getHttpServer()).put(`/v2/${PROJECT_A}/thing`).set('X-Api-Key', REPORTING_KEY).send({}), 403, 'BFF.FORBIDDEN');
    expect(reasons).toEqual(['project_denied', 'missing_scope']);
    expect(seen).toEqual([
      { caller: 'reporting', failure: 'project_denied' },
      { caller: 'reporting', failure: 'missing_scope' },
    ]);
  });

  it('accepts a key with "*" projects and upper-case hash on any project', async () => {
    expect((await get(`/v2/${PROJECT_B}/thing`, OPS_KEY)).status).toBe(200);
    expect((await request(app.getHttpServer()).put(`/v2/${PROJECT_B}/thing`).set('X-Api-Key', OPS_KEY).send({})).status).toBe(200);
    expect((await get('/audit/things', OPS_KEY)).status).toBe(200);
  });

  it('refuses a wrong key with 401', async () => {
    expectUnauthenticated(await get(`/v2/${PROJECT_A}/thing`, `${REPORTING_KEY}x`));
    expect(reasons).toEqual(['unknown_api_key']);
    expect(seen).toEqual([{ caller: undefined, failure: 'unknown_api_key' }]);
  });

  it.each(['api_key', 'apiKey', 'access_token'])('refuses a key in the query string (?%s=)', async (name) => {
    expectUnauthenticated(await get(`/v2/${PROJECT_A}/thing?${name}=${REPORTING_KEY}`));
    // Even with a valid header: the key has leaked into a URL and must be rotated, not used.
    expectUnauthenticated(await get(`/v2/${PROJECT_A}/thing?${name}=${REPORTING_KEY}`, REPORTING_KEY));
    expect(reasons).toEqual(['credentials_in_query', 'credentials_in_query']);
  });

  it('refuses a bearer token and an API key together', async () => {
    expectUnauthenticated(await get(`/v2/${PROJECT_A}/thing`, REPORTING_KEY).set('Authorization', 'Bearer x.y.z'));
    expect(reasons).toEqual(['malformed_credentials']);
  });

  it('refuses the development key when real keys are configured', async () => {
    expectUnauthenticated(await get(`/v2/${PROJECT_A}/thing`, DEVELOPMENT_API_KEY));
  });

  it('never writes a key into a log line', async () => {
    lines.splice(0);
    await get(`/v2/${PROJECT_A}/thing`, REPORTING_KEY);
    await get(`/v2/${PROJECT_B}/thing`, REPORTING_KEY);
    await get(`/v2/${PROJECT_A}/thing`, `${OPS_KEY}-wrong`);
    await request(app.getHttpServer()).put(`/v2/${PROJECT_A}/thing`).set('X-Api-Key', OPS_KEY).send({});
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).not.toContain(REPORTING_KEY);
      expect(line).not.toContain(OPS_KEY);
    }
  });

  it('keeps a key sent in the query string out of the access log', async () => {
    lines.splice(0);
    expectUnauthenticated(await get(`/v2/${PROJECT_A}/thing?api_key=${REPORTING_KEY}`));
    expect(lines.join('\n')).not.toContain(REPORTING_KEY);
  });
});

describe('development key', () => {
  const warnings: string[] = [];
  let app: NestFastifyApplication;

  beforeAll(async () => {
    // The app's one pino logger; warnings are level 40.
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push((JSON.parse(line) as { msg: string }).msg) });
    app = await createAuthTestApp({ auth: { nodeEnv: 'development', developmentKey: resolveDevelopmentKey('development', undefined, []) }, logger });
  });

  afterAll(async () => {
    await app.close();
  });

  it('is accepted with every scope on every project when nothing is configured', async () => {
    const server = app.getHttpServer();
    expect((await request(server).get(`/v2/${PROJECT_B}/thing`).set('X-Api-Key', DEVELOPMENT_API_KEY)).status).toBe(200);
    expect((await request(server).put(`/v2/${PROJECT_A}/thing`).set('X-Api-Key', DEVELOPMENT_API_KEY).send({})).status).toBe(200);
    expect((await request(server).get('/audit/things').set('X-Api-Key', DEVELOPMENT_API_KEY)).status).toBe(200);
  });

  it('still requires it: no key is 401', async () => {
    expectUnauthenticated(await request(app.getHttpServer()).get(`/v2/${PROJECT_A}/thing`), false);
  });

  it('logs a warning at start', () => {
    expect(warnings.join('\n')).toMatch(/development key "local-development-key"/);
  });
});
