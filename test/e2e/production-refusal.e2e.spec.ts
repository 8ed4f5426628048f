import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '../../src/auth/auth.options';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');
const SIGNING_KEY = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** A production start with everything but real caller authentication in place. */
const PRODUCTION = {
  NODE_ENV: 'production',
  PORT: '0',
  // A BFF on this machine may hold the default.
  METRICS_PORT: '0',
  SMN_PROJECTS: 'f96188c7ccaf4ffba0c9aa149ab2bd57=cn-north-4',
  SMN_ACCESS_KEY: 'ak',
  SMN_SECRET_KEY: 'sk',
  AUDIT_SIGNING_KEY: SIGNING_KEY,
  DATABASE_URL: 'postgres://postgres@127.0.0.1:1/never_reached',
};

function start(env: Record<string, string>) {
  // Outside the repository, so that a developer's .env (read from the working directory) adds nothing.
  return spawnSync(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...env }, cwd: tmpdir(), encoding: 'utf8', timeout: 20_000 });
}

describe('production refuses to start without real caller authentication', () => {
  it('exits 1 with one clear message when no auth is configured', () => {
    const run = start(PRODUCTION);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Invalid configuration');
    expect(run.stderr).toMatch(/no caller authentication is configured|authentication/i);
    expect(run.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('exits 1 when the development key is configured as an API key', () => {
    const keys = [{ name: 'dev', sha256: sha256Hex('local-development-key'), scopes: ['sms-callback:read'], projects: '*' }];
    const run = start({ ...PRODUCTION, AUTH_API_KEYS: JSON.stringify(keys) });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('local-development-key');
  });

  it('exits 1 without an audit signing key, naming it', () => {
    const keys = [{ name: 'ops', sha256: sha256Hex('a-real-key'), scopes: ['sms-callback:read'], projects: '*' }];
    const { AUDIT_SIGNING_KEY: _omitted, ...withoutKey } = PRODUCTION;
    const run = start({ ...withoutKey, AUTH_API_KEYS: JSON.stringify(keys) });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('AUDIT_SIGNING_KEY');
  });
});

describe('configuration mistakes refuse to start', () => {
  const keys = JSON.stringify([{ name: 'ops', sha256: sha256Hex('a-real-key'), scopes: ['sms-callback:read'], projects: '*' }]);

  it('exits 1 for production with the embedded emulator (demo credentials)', () => {
    const run = start({ ...PRODUCTION, AUTH_API_KEYS: keys, SMN_EMULATOR: 'true' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('SMN_EMULATOR: must not be true in production');
    expect(run.stdout).not.toContain('listening');
  });

  it('exits 1 for a NODE_ENV that is not development, test or production, instead of starting in development', () => {
    const run = start({ NODE_ENV: 'prodution', PORT: '0' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('NODE_ENV: must be development, test or production, not "prodution" (did you mean production?)');
  });

  it('exits 1 for a misspelt variable, naming the one meant', () => {
    const run = start({ ...PRODUCTION, AUTH_API_KEYS: keys, SMN_AUTH_MDOE: 'token' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('SMN_AUTH_MDOE: unknown variable (did you mean SMN_AUTH_MODE?)');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
