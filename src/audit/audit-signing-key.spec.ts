import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyHashSignature } from './audit-chain';
import { AuditSigningKey, defaultSigningKeyPath, loadAuditSigningKey, resolveAuditPublicKey } from './audit-signing-key';

describe('audit signing key', () => {
  let root: string;
  let dataDir: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'audit-key-'));
    dataDir = join(root, 'audit');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('keeps the generated key beside the data directory', () => {
    expect(defaultSigningKeyPath('./data/audit')).toBe('./data/audit-signing-key.pem');
    expect(defaultSigningKeyPath('./data/audit/')).toBe('./data/audit-signing-key.pem');
  });

  it('generates a key once, readable by the owner only, and reuses it', () => {
    const first = loadAuditSigningKey({ dataDir });
    const path = join(root, 'audit-signing-key.pem');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const second = loadAuditSigningKey({ dataDir });
    expect(second.publicKeyPem).toBe(first.publicKeyPem);
    expect(resolveAuditPublicKey({ dataDir }).export({ type: 'spki', format: 'pem' })).toBe(first.publicKeyPem);
  });

  it('uses a configured key and derives its public key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const key = loadAuditSigningKey({ dataDir, signingKeyPem: pem });
    expect(key.publicKeyPem).toBe(publicKey.export({ type: 'spki', format: 'pem' }));
    expect(verifyHashSignature(publicKey, 'abc', key.sign('abc'))).toBe(true);
    expect(resolveAuditPublicKey({ dataDir, privateKeyPem: pem }).equals(publicKey)).toBe(true);
  });

  it('refuses a key that is not Ed25519', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => AuditSigningKey.fromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())).toThrow(/must be an Ed25519 private key, got ec/);
  });

  it('does not invent a key for verification', () => {
    expect(() => resolveAuditPublicKey({ dataDir })).toThrow(/No audit public key/);
  });
});
