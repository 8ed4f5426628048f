import { assertAuthConfiguration, DEVELOPMENT_API_KEY, resolveDevelopmentKey, sha256Hex, type AuthOptions, type JwtOptions } from './auth.options';

const jwt: JwtOptions = {
  jwksUrl: 'https://login.example.com/.well-known/jwks.json',
  issuer: 'https://login.example.com',
  audience: 'sms-callback-bff',
  algorithms: ['RS256', 'ES256', 'EdDSA'],
  clockToleranceSec: 30,
  projectsClaim: 'smn_projects',
};
const key = { name: 'billing', sha256: sha256Hex('a-real-key'), scopes: ['sms-callback:read'], projects: '*' as const };
const options = (o: Partial<AuthOptions>): AuthOptions => ({ nodeEnv: 'production', apiKeys: [], developmentKey: false, ...o });

describe('resolveDevelopmentKey', () => {
  it('is on only outside production with nothing configured', () => {
    expect(resolveDevelopmentKey('development', undefined, [])).toBe(true);
    expect(resolveDevelopmentKey('test', undefined, [])).toBe(true);
    expect(resolveDevelopmentKey('production', undefined, [])).toBe(false);
    expect(resolveDevelopmentKey('development', jwt, [])).toBe(false);
    expect(resolveDevelopmentKey('development', undefined, [key])).toBe(false);
  });
});

describe('assertAuthConfiguration', () => {
  it('accepts production with JWT or API keys', () => {
    expect(() => assertAuthConfiguration(options({ jwt }), 'production')).not.toThrow();
    expect(() => assertAuthConfiguration(options({ apiKeys: [key] }), 'production')).not.toThrow();
  });

  it('refuses production without real authentication', () => {
    expect(() => assertAuthConfiguration(options({}), 'production')).toThrow(/production requires real caller authentication/);
  });

  it('refuses production with the development key', () => {
    expect(() => assertAuthConfiguration(options({ developmentKey: true }), 'production')).toThrow(/must not be enabled in production/);
    expect(() => assertAuthConfiguration(options({ apiKeys: [key], developmentKey: true }), 'production')).toThrow(/development key/);
  });

  it('refuses production with the development key configured as a real key', () => {
    const devAsReal = { ...key, sha256: sha256Hex(DEVELOPMENT_API_KEY) };
    expect(() => assertAuthConfiguration(options({ apiKeys: [devAsReal] }), 'production')).toThrow(/publicly documented development key/);
  });

  it('allows the development key outside production only when nothing else is configured', () => {
    expect(() => assertAuthConfiguration(options({ nodeEnv: 'development', developmentKey: true }), 'development')).not.toThrow();
    expect(() => assertAuthConfiguration(options({ nodeEnv: 'development', developmentKey: true, jwt }), 'development')).toThrow(
      /only for setups without/,
    );
  });

  it.each([
    [{ algorithms: ['none'] }, /not allowed: none/],
    [{ algorithms: ['RS256', 'HS256'] }, /not allowed: HS256/],
    [{ algorithms: [] }, /at least one JWT algorithm/],
    [{ publicKeyFile: '/etc/key.pem' }, /exactly one of a JWKS URL and a public key file/],
    [{ jwksUrl: undefined }, /exactly one of a JWKS URL and a public key file/],
    [{ jwksUrl: 'http://login.example.com/jwks.json' }, /https in production/],
    [{ issuer: '' }, /issuer is required/],
    [{ audience: '' }, /audience is required/],
    [{ clockToleranceSec: 3600 }, /clock tolerance/],
  ])('refuses a bad JWT configuration %o', (change, message) => {
    expect(() => assertAuthConfiguration(options({ jwt: { ...jwt, ...change } }), 'production')).toThrow(message);
  });

  it.each([
    [{ sha256: 'plain-text-key' }, /hex SHA-256/],
    [{ name: '' }, /needs a name/],
    [{ scopes: ['sms-callback:delete'] }, /unknown scopes: sms-callback:delete/],
  ])('refuses a bad API key %o', (change, message) => {
    expect(() => assertAuthConfiguration(options({ apiKeys: [{ ...key, ...change }] }), 'production')).toThrow(message);
  });

  it('refuses the same key twice', () => {
    expect(() => assertAuthConfiguration(options({ apiKeys: [key, { ...key, name: 'other' }] }), 'production')).toThrow(/same hash/);
  });

  it('reports every problem in one message', () => {
    const error = captureError(() => assertAuthConfiguration(options({ developmentKey: true, jwt: { ...jwt, issuer: '', algorithms: ['none'] } }), 'production'));
    expect(error.message.startsWith('Invalid caller authentication configuration: ')).toBe(true);
    expect(error.message).toMatch(/issuer is required.*not allowed: none.*development key/);
  });
});

function captureError(fn: () => void): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
