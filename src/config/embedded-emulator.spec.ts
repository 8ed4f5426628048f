import { withEmbeddedEmulator } from './embedded-emulator';
import { DEMO_PROJECT, loadConfig } from './load-config';

const EMULATOR = {
  url: 'http://127.0.0.1:45678',
  accessKey: 'DEMO-AK',
  secretKey: 'demo-sk',
  iamUser: { name: 'demo', password: 'pw', domain: 'demo-domain' },
};

describe('withEmbeddedEmulator', () => {
  it("points every project's region at the emulator and signs with its demo keys, in a new configuration", () => {
    const validated = loadConfig({
      SMN_PROJECTS: `${DEMO_PROJECT.id}=cn-north-4,${'a'.repeat(32)}=eu-west-0`,
      SMN_ENDPOINTS: 'ap-southeast-1=https://smn.example.com',
    });
    const embedded = withEmbeddedEmulator(validated, EMULATOR);

    expect([...embedded.smn.endpoints]).toEqual([
      ['ap-southeast-1', 'https://smn.example.com'],
      ['cn-north-4', EMULATOR.url],
      ['eu-west-0', EMULATOR.url],
    ]);
    expect(embedded.smn.auth).toEqual({ mode: 'aksk', accessKey: 'DEMO-AK', secretKey: 'demo-sk', securityToken: undefined });
    expect(embedded.http).toBe(validated.http);
    expect(Object.isFrozen(embedded) && Object.isFrozen(embedded.smn)).toBe(true);

    // The validated configuration is as it was.
    expect([...validated.smn.endpoints]).toEqual([['ap-southeast-1', 'https://smn.example.com']]);
    expect(validated.smn.auth).toEqual({ mode: 'aksk', accessKey: '', secretKey: '', securityToken: undefined });
  });

  it('obtains tokens from the emulator as its demo IAM user in token mode', () => {
    const validated = loadConfig({ SMN_AUTH_MODE: 'token', SMN_TOKEN_REFRESH_BEFORE_MS: '60000' });
    expect(withEmbeddedEmulator(validated, EMULATOR).smn.auth).toEqual({
      mode: 'token',
      iamEndpoint: EMULATOR.url,
      user: 'demo',
      password: 'pw',
      domain: 'demo-domain',
      refreshBeforeMs: 60_000,
    });
    expect(validated.smn.auth).toMatchObject({ iamEndpoint: 'https://iam.myhuaweicloud.com', user: '' });
  });
});
