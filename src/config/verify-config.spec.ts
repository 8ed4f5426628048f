import { join } from 'node:path';
import { ConfigError } from './load-config';
import { loadVerifyConfig } from './verify-config';

describe('loadVerifyConfig', () => {
  it("has the server's defaults and offers the development key outside production only", () => {
    expect(loadVerifyConfig({})).toEqual({
      databaseUrl: undefined,
      dataDir: join('./data', 'audit'),
      publicKeyPem: undefined,
      signingKeyPem: undefined,
      http: { host: '127.0.0.1', port: 3000 },
      developmentKey: true,
    });
    expect(loadVerifyConfig({ HOST: '0.0.0.0', PORT: '8080', AUDIT_SIGNING_KEY: '-----BEGIN PRIVATE KEY-----x' })).toMatchObject({
      http: { host: '0.0.0.0', port: 8080 },
      signingKeyPem: '-----BEGIN PRIVATE KEY-----x',
    });
  });

  it('reports every problem of what it reads', () => {
    const problems = () => {
      try {
        loadVerifyConfig({ DATABASE_URL: 'mysql://x', PORT: '70000', AUDIT_PUBLIC_KEY: 'not a key' });
      } catch (error) {
        return (error as ConfigError).problems;
      }
      throw new Error('accepted');
    };
    expect(problems()).toEqual(
      expect.arrayContaining(['DATABASE_URL: must be a postgres:// URL', expect.stringMatching(/^PORT: /), 'AUDIT_PUBLIC_KEY: must be a PEM public key']),
    );
    expect(() => loadVerifyConfig({ AUDIT_PUBLIC_KEY_FILE: '/nonexistent/audit-public.pem' })).toThrow(/AUDIT_PUBLIC_KEY_FILE: ENOENT/);
  });
});
