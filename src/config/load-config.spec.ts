import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEMO_PROJECT, environment, loadConfig, unknownVariables } from './load-config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('accepted');
}

describe('loadConfig', () => {
  it('runs with zero configuration on the embedded emulator and the demo project', () => {
    const config = loadConfig({});
    expect(config.smn.emulator).toBe(true);
    expect([...config.smn.projects]).toEqual([[DEMO_PROJECT.id, DEMO_PROJECT.region]]);
    expect(config.http.port).toBe(3000);
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ NODE_ENV: 'production', PORT: 'abc', UPSTREAM_MAX_RETRIES: '-1' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'UPSTREAM_MAX_RETRIES', 'SMN_ACCESS_KEY', 'SMN_SECRET_KEY', 'SMN_PROJECTS']) {
      expect(problems).toContain(name);
    }
  });

  it('validates the project map and endpoint overrides', () => {
    expect(() => loadConfig({ SMN_PROJECTS: 'NOTHEX=cn-north-4' })).toThrow(/not a project id/);
    expect(() => loadConfig({ SMN_PROJECTS: `${DEMO_PROJECT.id}=Bad Region` })).toThrow(/not a region id/);
    expect(() => loadConfig({ SMN_ENDPOINTS: 'cn-north-4=ftp://x' })).toThrow(/not an http\(s\) URL/);
    const config = loadConfig({ SMN_PROJECTS: `${DEMO_PROJECT.id}=eu-west-0`, SMN_ENDPOINTS: 'eu-west-0=http://127.0.0.1:9000/' });
    expect(config.smn.projects.get(DEMO_PROJECT.id)).toBe('eu-west-0');
    expect(config.smn.endpoints.get('eu-west-0')).toBe('http://127.0.0.1:9000');
  });

  it('has the documented defaults, shaped by concern', () => {
    const config = loadConfig({});
    expect(config.nodeEnv).toBe('development');
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: 3000,
      metrics: { host: '127.0.0.1', port: 9464 },
      corsOrigins: [],
      trustedProxies: [],
      shutdownGraceMs: 10_000,
    });
    expect(config.log.level).toBe('info');
    expect(config.smn.auth).toEqual({ mode: 'aksk', accessKey: '', secretKey: '', securityToken: undefined });
    expect(config.smn.upstream).toEqual({
      attemptTimeoutMs: 2_000,
      deadlineMs: 8_000,
      maxRetries: 2,
      backoffBaseMs: 100,
      backoffMaxMs: 2_000,
      retryAfterCapMs: 5_000,
      breakerThreshold: 5,
      breakerHalfOpenAfterMs: 10_000,
      maxSockets: 64,
    });
    expect(config.auth).toEqual({ nodeEnv: 'development', jwt: undefined, apiKeys: [], accessKeys: [], developmentKey: true });
    expect(config.rateLimit).toEqual({
      caller: { ttlMs: 60_000, limit: 600 },
      anonymousIp: { ttlMs: 60_000, limit: 30 },
      redisUrl: undefined,
      redisCommandTimeoutMs: 100,
      redisProbeIntervalMs: 1_000,
      redisKeyPrefix: 'sms-callback-bff:rl:',
    });
    expect(config.audit).toMatchObject({ dataDir: join('./data', 'audit'), changeDeadlineMs: 15_000, lockWaitMs: 5_000, staleAfterMs: 30_000 });
  });

  it('is frozen: nothing changes the validated configuration after boot', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.smn)).toBe(true);
    expect(Object.isFrozen(config.auth)).toBe(true);
  });

  it('keeps the token mode settings and the cross-field rules', () => {
    expect(problemsOf({ SMN_EMULATOR: 'false', SMN_PROJECTS: `${DEMO_PROJECT.id}=cn-north-4`, SMN_AUTH_MODE: 'token', SMN_IAM_USER: 'u' })).toEqual([
      'SMN_IAM_PASSWORD: required when SMN_EMULATOR is false and SMN_AUTH_MODE is token',
      'SMN_IAM_DOMAIN: required when SMN_EMULATOR is false and SMN_AUTH_MODE is token',
    ]);
    expect(problemsOf({ CHANGE_LOCK_WAIT_MS: '15000' })).toEqual([
      'CHANGE_LOCK_WAIT_MS: must be less than CHANGE_DEADLINE_MS (the lock wait is a share of the whole change deadline)',
    ]);
    expect(problemsOf({ UPSTREAM_ATTEMPT_TIMEOUT_MS: '9000' })).toEqual(['UPSTREAM_DEADLINE_MS: must be at least UPSTREAM_ATTEMPT_TIMEOUT_MS']);
  });

  it('serves metrics on a port of their own, 9464 on HOST by default; 0 is any free port, off none', () => {
    expect(loadConfig({ HOST: '0.0.0.0' }).http.metrics).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(loadConfig({ METRICS_PORT: '0', METRICS_HOST: '127.0.0.2' }).http.metrics).toEqual({ host: '127.0.0.2', port: 0 });
    expect(loadConfig({ METRICS_PORT: 'off' }).http.metrics).toBeUndefined();
    // Both 0: two different free ports.
    expect(loadConfig({ PORT: '0', METRICS_PORT: '0' }).http.metrics).toEqual({ host: '127.0.0.1', port: 0 });
    for (const value of ['none', '-1', '70000', '1.5']) {
      expect(problemsOf({ METRICS_PORT: value })).toEqual(['METRICS_PORT: must be a port number (0: any free port) or off']);
    }
    expect(problemsOf({ PORT: '8080', METRICS_PORT: '8080' })).toEqual([
      'METRICS_PORT: must differ from PORT (8080): metrics have a listener of their own; off turns it off',
    ]);
    expect(loadConfig({ PORT: '8080', METRICS_PORT: '8080', METRICS_HOST: '127.0.0.2' }).http.metrics).toEqual({ host: '127.0.0.2', port: 8080 });
    expect(problemsOf({ METRICS_POTR: '9000' })).toEqual([expect.stringContaining('METRICS_POTR: unknown variable (did you mean METRICS_PORT?)')]);
  });

  it('bounds every phase of an inbound connection, 10 s for headers and request by default, and never turns one off', () => {
    expect(loadConfig({}).server).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 });
    expect(problemsOf({ HTTP_HEADERS_TIMEOUT_MS: '20000' })).toEqual(['HTTP_HEADERS_TIMEOUT_MS: must not be longer than HTTP_REQUEST_TIMEOUT_MS']);
    expect(problemsOf({ HTTP_REQUEST_TIMEOUT_MS: '0', HTTP_KEEP_ALIVE_TIMEOUT_MS: '0' })).toEqual([
      expect.stringMatching(/^HTTP_REQUEST_TIMEOUT_MS: /),
      expect.stringMatching(/^HTTP_KEEP_ALIVE_TIMEOUT_MS: /),
    ]);
    expect(problemsOf({ HTTP_HEADER_TIMEOUT_MS: '1000' })).toEqual([expect.stringContaining('did you mean HTTP_HEADERS_TIMEOUT_MS?')]);
  });

  it('reads secrets from files and names the variable when one cannot be read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-'));
    try {
      const keyFile = join(dir, 'signing-key.pem');
      writeFileSync(keyFile, '-----BEGIN PRIVATE KEY-----x');
      const projectsFile = join(dir, 'projects.json');
      writeFileSync(projectsFile, JSON.stringify({ [DEMO_PROJECT.id]: 'eu-west-0' }));
      const config = loadConfig({ AUDIT_SIGNING_KEY_FILE: keyFile, SMN_PROJECTS_FILE: projectsFile });
      expect(config.audit.signingKeyPem).toBe('-----BEGIN PRIVATE KEY-----x');
      expect(config.smn.projects.get(DEMO_PROJECT.id)).toBe('eu-west-0');
      expect(problemsOf({ AUDIT_SIGNING_KEY_FILE: join(dir, 'absent.pem') })).toEqual([expect.stringMatching(/^AUDIT_SIGNING_KEY_FILE: ENOENT/)]);
      writeFileSync(projectsFile, '[]');
      expect(problemsOf({ SMN_PROJECTS_FILE: projectsFile })).toEqual(['SMN_PROJECTS_FILE: expected a JSON object of project id → region']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('configuration mistakes are refused', () => {
  it('NODE_ENV other than development, test or production', () => {
    expect(problemsOf({ NODE_ENV: 'prodution' })).toEqual(['NODE_ENV: must be development, test or production, not "prodution" (did you mean production?)']);
    expect(problemsOf({ NODE_ENV: 'staging' })).toEqual(['NODE_ENV: must be development, test or production, not "staging"']);
    expect(problemsOf({ NODE_ENV: 'prod' })).toEqual(['NODE_ENV: must be development, test or production, not "prod" (did you mean production?)']);
    for (const nodeEnv of ['development', 'test']) expect(loadConfig({ NODE_ENV: nodeEnv }).nodeEnv).toBe(nodeEnv);
  });

  it('a misspelt variable of one of our prefixes, with the name meant', () => {
    expect(problemsOf({ SMN_AUTH_MDOE: 'token' })).toEqual([
      'SMN_AUTH_MDOE: unknown variable (did you mean SMN_AUTH_MODE?); docs/configuration.md lists every variable',
    ]);
    expect(problemsOf({ CORS_ORIGIN: 'https://app.example.com', RATE_LIMIT_CALLER: '5' })).toEqual([
      'CORS_ORIGIN: unknown variable (did you mean CORS_ORIGINS?); docs/configuration.md lists every variable',
      'RATE_LIMIT_CALLER: unknown variable (did you mean RATE_LIMIT_CALLER_LIMIT?); docs/configuration.md lists every variable',
    ]);
    expect(problemsOf({ AUDIT_SOMETHING_ELSE_ENTIRELY: 'x' })).toEqual([
      'AUDIT_SOMETHING_ELSE_ENTIRELY: unknown variable; docs/configuration.md lists every variable',
    ]);
  });

  it('but not variables of other software, or of the standalone emulator', () => {
    const others = {
      PATH: '/bin',
      NODE_OPTIONS: '--max-old-space-size=512',
      HTTP_PROXY: 'http://proxy:3128',
      HTTPS_PROXY: 'http://proxy:3128',
      NO_PROXY: 'localhost',
    };
    const more = { DATABASE_PASSWORD: 'x', REDIS_TLS_URL: 'rediss://x', DATA_HOME: '/x', EMULATOR_SEED: '{}', npm_lifecycle_event: 'start' };
    expect(unknownVariables({ ...others, ...more })).toEqual([]);
    expect(() => loadConfig({ ...others, ...more })).not.toThrow();
  });

  it('production with the embedded emulator', () => {
    expect(problemsOf({ ...PRODUCTION, SMN_EMULATOR: 'true' })).toEqual([
      'SMN_EMULATOR: must not be true in production: the embedded emulator runs on published demo credentials; configure real SMN endpoints and credentials',
    ]);
    expect(loadConfig({ ...PRODUCTION, SMN_EMULATOR: 'false' }).smn.emulator).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test', SMN_EMULATOR: 'true' }).smn.emulator).toBe(true);
  });

  it('reports a problem once, whichever concerns read the variable', () => {
    expect(problemsOf({ NODE_ENV: 'prod' })).toHaveLength(1);
  });
});

const PRODUCTION = {
  NODE_ENV: 'production',
  SMN_PROJECTS: `${DEMO_PROJECT.id}=cn-north-4`,
  SMN_ACCESS_KEY: 'ak',
  SMN_SECRET_KEY: 'sk',
  AUDIT_SIGNING_KEY: '-----BEGIN PRIVATE KEY-----x',
  AUTH_JWKS_URL: 'https://login.example.com/jwks.json',
  AUTH_JWT_ISSUER: 'https://login.example.com',
  AUTH_JWT_AUDIENCE: 'sms-callback-bff',
};

describe('environment', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dotenv-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('adds .env when present; a variable already in the environment wins', () => {
    writeFileSync(
      join(dir, '.env'),
      'PORT=4000\nLOG_LEVEL=debug\n# a comment\nAUDIT_SIGNING_KEY="-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"\n',
    );
    const env = environment(join(dir, '.env'), { NODE_ENV: 'development', PORT: '5000' });
    expect(env).toEqual({
      NODE_ENV: 'development',
      PORT: '5000',
      LOG_LEVEL: 'debug',
      AUDIT_SIGNING_KEY: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----',
    });
    expect(loadConfig(env).http.port).toBe(5000);
  });

  it('is the environment alone without .env, and under NODE_ENV=test', () => {
    const env = { NODE_ENV: 'development' };
    expect(environment(join(dir, '.env'), env)).toBe(env);
    writeFileSync(join(dir, '.env'), 'PORT=4000\n');
    const test = { NODE_ENV: 'test' };
    expect(environment(join(dir, '.env'), test)).toBe(test);
  });

  it('refuses a misspelt variable that comes from .env like any other', () => {
    writeFileSync(join(dir, '.env'), 'SMN_EMULATER=false\n');
    expect(() => loadConfig(environment(join(dir, '.env'), {}))).toThrow(/SMN_EMULATER: unknown variable \(did you mean SMN_EMULATOR\?\)/);
  });
});
