import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StartupError } from '../common/startup-error';
import { AuditSigner, signHash } from './audit-chain';

/**
 * The Ed25519 key that signs every chain hash. It lives outside the database (ADR 0002): from
 * configuration in production, or generated once next to the embedded data directory.
 */
export class AuditSigningKey implements AuditSigner {
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;

  constructor(
    private readonly privateKey: KeyObject,
    source = 'The audit signing key',
  ) {
    if (privateKey.asymmetricKeyType !== 'ed25519') {
      throw new StartupError(`${source} must be an Ed25519 private key, got ${privateKey.asymmetricKeyType ?? privateKey.type}.`);
    }
    this.publicKey = createPublicKey(privateKey);
    this.publicKeyPem = this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  sign(hash: string): string {
    return signHash(this.privateKey, hash);
  }

  /** `source` names where the PEM came from, for the one-line refusal of a key that cannot be used. */
  static fromPem(pem: string, source = 'The audit signing key'): AuditSigningKey {
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch (error) {
      // OpenSSL's reason ("DECODER routines::unsupported") says little; what to do says more.
      throw new StartupError(
        `${source} is not a readable private key (PKCS#8 PEM, "-----BEGIN PRIVATE KEY-----"); create one with \`openssl genpkey -algorithm ed25519\`.`,
        { cause: error },
      );
    }
    return new AuditSigningKey(key, source);
  }
}

/**
 * Where the embedded default keeps its key: beside the data directory, not inside it, so a copy
 * of the database directory does not carry the key (`./data/audit` → `./data/audit-signing-key.pem`).
 */
export function defaultSigningKeyPath(dataDir: string): string {
  if (!dataDir.trim()) throw new Error('The audit data directory is not set, so there is no place for the signing key.');
  return `${dataDir.replace(/[\\/]+$/, '')}-signing-key.pem`;
}

/** Uses the configured PEM, or reads the generated key file, generating it (mode 0600) on first use. */
export function loadAuditSigningKey(options: { signingKeyPem?: string; dataDir: string }): AuditSigningKey {
  if (options.signingKeyPem) return AuditSigningKey.fromPem(options.signingKeyPem, 'The audit signing key (AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE)');
  const path = defaultSigningKeyPath(options.dataDir);
  try {
    return AuditSigningKey.fromPem(readFileSync(path, 'utf8'), `The generated audit signing key ${path}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(path), { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  try {
    // 'wx': if another process generated one meanwhile, keep theirs rather than fork the key.
    writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return AuditSigningKey.fromPem(readFileSync(path, 'utf8'));
  }
  return new AuditSigningKey(privateKey);
}

/** The public key to verify with: given, derived from the private key, or from the key file. */
export function resolveAuditPublicKey(options: { publicKeyPem?: string; privateKeyPem?: string; dataDir: string }): KeyObject {
  if (options.publicKeyPem) return createPublicKey(options.publicKeyPem);
  if (options.privateKeyPem) return AuditSigningKey.fromPem(options.privateKeyPem).publicKey;
  const path = defaultSigningKeyPath(options.dataDir);
  try {
    return AuditSigningKey.fromPem(readFileSync(path, 'utf8')).publicKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`No audit public key: configure one, or provide the signing key (none at ${path}).`, { cause: error });
    }
    throw error;
  }
}
