import { createHash } from 'node:crypto';
import { DEVELOPMENT_API_KEY } from './config.schema';
import { ConfigError, DEMO_PROJECT, loadConfig } from './load-config';

/** The caller-authentication rules of the schema (README, Caller authentication), production rules included. */

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const key = { name: 'billing', sha256: sha256('a-real-key'), scopes: ['sms-callback:read'], projects: '*' };
const keys = (...entries: object[]) => JSON.stringify(entries);

/** Production with everything but caller authentication. */
const PRODUCTION = {
  NODE_ENV: 'production',
  SMN_PROJECTS: `${DEMO_PROJECT.id}=cn-north-4`,
  SMN_ACCESS_KEY: 'ak',
  SMN_SECRET_KEY: 'sk',
  AUDIT_SIGNING_KEY: '-----BEGIN PRIVATE KEY-----x',
};
const JWT = {
  AUTH_JWKS_URL: 'https://login.example.com/.well-known/jwks.json',
  AUTH_JWT_ISSUER: 'https://login.example.com',
  AUTH_JWT_AUDIENCE: 'sms-callback-bff',
};

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n');
    throw error;
  }
  throw new Error('accepted');
}

describe('caller authentication configuration', () => {
  it('accepts production with JWT or API keys, and never turns the development key on there', () => {
    const withJwt = loadConfig({ ...PRODUCTION, ...JWT }).auth;
    expect(withJwt).toMatchObject({
      developmentKey: false,
      apiKeys: [],
      jwt: { jwksUrl: JWT.AUTH_JWKS_URL, algorithms: ['RS256', 'ES256', 'EdDSA'], jwksCooldownMs: 30_000 },
    });
    expect(loadConfig({ ...PRODUCTION, AUTH_API_KEYS: keys(key) }).auth).toMatchObject({ developmentKey: false, jwt: undefined, apiKeys: [key] });
  });

  it('refuses production without real authentication', () => {
    expect(problems(PRODUCTION)).toMatch(/^AUTH_API_KEYS: no caller authentication is configured, and production requires it/);
  });

  it('refuses production with the development key configured as a real key', () => {
    expect(problems({ ...PRODUCTION, AUTH_API_KEYS: keys({ ...key, name: 'dev', sha256: sha256(DEVELOPMENT_API_KEY) }) })).toBe(
      `AUTH_API_KEYS: API key "dev" is the publicly documented development key "${DEVELOPMENT_API_KEY}"; issue a real key`,
    );
  });

  it('turns the development key on outside production only when nothing else is configured', () => {
    expect(loadConfig({}).auth.developmentKey).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).auth.developmentKey).toBe(true);
    expect(loadConfig(JWT).auth.developmentKey).toBe(false);
    expect(loadConfig({ AUTH_API_KEYS: keys(key) }).auth.developmentKey).toBe(false);
  });

  it.each([
    [{ AUTH_JWT_ALGORITHMS: 'none' }, /AUTH_JWT_ALGORITHMS: not allowed: none/],
    [{ AUTH_JWT_ALGORITHMS: 'RS256,HS256' }, /AUTH_JWT_ALGORITHMS: not allowed: HS256/],
    [{ AUTH_JWT_PUBLIC_KEY_FILE: '/etc/key.pem' }, /AUTH_JWT_PUBLIC_KEY_FILE: set either AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY_FILE, not both/],
    [{ AUTH_JWKS_URL: 'http://login.example.com/jwks.json' }, /AUTH_JWKS_URL: must use https in production/],
    [{ AUTH_JWKS_URL: 'ftp://login.example.com/jwks.json' }, /AUTH_JWKS_URL: /],
    [{ AUTH_JWT_ISSUER: undefined }, /AUTH_JWT_ISSUER: required when JWT is configured/],
    [{ AUTH_JWT_AUDIENCE: undefined }, /AUTH_JWT_AUDIENCE: required when JWT is configured/],
    [{ AUTH_JWT_CLOCK_TOLERANCE_S: '3600' }, /AUTH_JWT_CLOCK_TOLERANCE_S: must be between 0 and 300 seconds/],
  ])('refuses a bad JWT configuration %o', (change, message) => {
    expect(problems({ ...PRODUCTION, ...JWT, ...change } as Record<string, string>)).toMatch(message);
  });

  it('keeps the default algorithms for an empty list', () => {
    expect(loadConfig({ ...JWT, AUTH_JWT_ALGORITHMS: ' , ' }).auth.jwt?.algorithms).toEqual(['RS256', 'ES256', 'EdDSA']);
  });

  it.each([
    [{ sha256: 'plain-text-key' }, 'AUTH_API_KEYS[0.sha256]: must be the hex SHA-256 of the key'],
    [{ name: '' }, 'AUTH_API_KEYS[0.name]: '],
    [{ scopes: ['sms-callback:delete'] }, 'AUTH_API_KEYS[0.scopes.0]: unknown scope "sms-callback:delete"'],
    [{ projects: 'all' }, 'AUTH_API_KEYS[0.projects]: '],
  ])('refuses a bad API key %o', (change, message) => {
    expect(problems({ ...PRODUCTION, AUTH_API_KEYS: keys({ ...key, ...change }) })).toContain(message);
  });

  it('refuses the same key twice, also across the variable and the file', () => {
    expect(problems({ ...PRODUCTION, AUTH_API_KEYS: keys(key, { ...key, name: 'other' }) })).toBe(
      'AUTH_API_KEYS: API key "other" has the same hash as another key',
    );
    expect(problems({ ...PRODUCTION, AUTH_API_KEYS: keys(key, { ...key, sha256: sha256('another') }) })).toBe(
      'AUTH_API_KEYS: API key "billing" is configured twice',
    );
  });

  it('reads an empty list as no keys', () => {
    expect(loadConfig({ AUTH_API_KEYS: '' }).auth).toMatchObject({ apiKeys: [], developmentKey: true });
  });

  describe('caller access keys (AK/SK)', () => {
    const accessKey = {
      name: 'sms-sender',
      access_key_id: 'BFFAK0000000000000001',
      secret: 'a-random-secret-of-at-least-32-characters',
      scopes: ['sms-callback:read', 'sms-callback:write'],
      projects: [DEMO_PROJECT.id],
    };

    it('counts as real authentication in production, and turns the development key off', () => {
      expect(loadConfig({ ...PRODUCTION, AUTH_ACCESS_KEYS: keys(accessKey) }).auth).toMatchObject({
        developmentKey: false,
        accessKeys: [
          { name: 'sms-sender', accessKeyId: 'BFFAK0000000000000001', secret: accessKey.secret, scopes: accessKey.scopes, projects: [DEMO_PROJECT.id] },
        ],
      });
      expect(loadConfig({ AUTH_ACCESS_KEYS: keys(accessKey) }).auth.developmentKey).toBe(false);
      expect(loadConfig({}).auth.accessKeys).toEqual([]);
    });

    it.each([
      [{ access_key_id: 'short' }, 'AUTH_ACCESS_KEYS[0.access_key_id]: must be 8–128 characters'],
      [{ access_key_id: 'has,comma0' }, 'AUTH_ACCESS_KEYS[0.access_key_id]: '],
      [{ secret: 'too-short' }, 'AUTH_ACCESS_KEYS[0.secret]: must be at least 32 characters'],
      [{ scopes: ['sms-callback:delete'] }, 'AUTH_ACCESS_KEYS[0.scopes.0]: unknown scope "sms-callback:delete"'],
      [{ sk: 'unknown property' }, 'AUTH_ACCESS_KEYS[0]: '],
    ])('refuses a bad access key %o', (change, message) => {
      expect(problems({ ...PRODUCTION, AUTH_ACCESS_KEYS: keys({ ...accessKey, ...change }) })).toContain(message);
    });

    it('refuses a name or an access key id twice, and never repeats the secret', () => {
      const twice = problems({ ...PRODUCTION, AUTH_ACCESS_KEYS: keys(accessKey, { ...accessKey, name: 'other' }) });
      expect(twice).toBe('AUTH_ACCESS_KEYS: access key "other" has the same access_key_id as another key');
      expect(problems({ ...PRODUCTION, AUTH_ACCESS_KEYS: keys(accessKey, { ...accessKey, access_key_id: 'BFFAK0000000000000002' }) })).toBe(
        'AUTH_ACCESS_KEYS: access key "sms-sender" is configured twice',
      );
      expect(problems({ ...PRODUCTION, AUTH_ACCESS_KEYS: keys({ ...accessKey, scopes: 'x' }) })).not.toContain(accessKey.secret);
      const broken = problems({ ...PRODUCTION, AUTH_ACCESS_KEYS: `[{"secret": ${accessKey.secret}}]` });
      expect(broken).toMatch(/^AUTH_ACCESS_KEYS: is not valid JSON/);
      expect(broken).not.toContain(accessKey.secret.slice(0, 8));
    });
  });

  it('reports every problem in one error', () => {
    const all = problems({ ...PRODUCTION, AUTH_JWKS_URL: 'http://login.example.com/jwks.json', AUTH_JWT_ALGORITHMS: 'none', AUTH_API_KEYS: 'not json' });
    for (const variable of ['AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE', 'AUTH_JWT_ALGORITHMS', 'AUTH_JWKS_URL', 'AUTH_API_KEYS'])
      expect(all).toContain(`${variable}: `);
  });
});
