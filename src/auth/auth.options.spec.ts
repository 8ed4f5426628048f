import { resolveDevelopmentKey, sha256Hex, type JwtOptions } from './auth.options';

const jwt: JwtOptions = {
  jwksUrl: 'https://login.example.com/.well-known/jwks.json',
  issuer: 'https://login.example.com',
  audience: 'sms-callback-bff',
  algorithms: ['RS256', 'ES256', 'EdDSA'],
  clockToleranceSec: 30,
  projectsClaim: 'smn_projects',
};
const key = { name: 'billing', sha256: sha256Hex('a-real-key'), scopes: ['sms-callback:read'], projects: '*' as const };

describe('resolveDevelopmentKey', () => {
  it('is on only outside production with nothing configured', () => {
    expect(resolveDevelopmentKey('development', undefined, [])).toBe(true);
    expect(resolveDevelopmentKey('test', undefined, [])).toBe(true);
    expect(resolveDevelopmentKey('production', undefined, [])).toBe(false);
    expect(resolveDevelopmentKey('development', jwt, [])).toBe(false);
    expect(resolveDevelopmentKey('development', undefined, [key])).toBe(false);
  });
});
