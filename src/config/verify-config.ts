import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { int } from './env-parsers';
import { ConfigError } from './load-config';

/**
 * Only what `npm run audit:verify` needs: where the store is, the key to check with, and where the
 * server listens. An operator can verify with the store and the public key alone, without the rest
 * of the service configuration (SMN credentials, projects, authentication).
 */
export interface VerifyConfig {
  /** PostgreSQL; unset means the embedded PGlite store under `dataDir`. */
  databaseUrl?: string;
  /** `<DATA_DIR>/audit`, as the server opens it. */
  dataDir: string;
  /** SPKI PEM public key to verify with. */
  publicKeyPem?: string;
  /** Used only to derive the public key when none is given. */
  signingKeyPem?: string;
  /** The running server, asked when it holds the embedded store. */
  http: { host: string; port: number };
  /** Whether `local-development-key` may be offered to the server (never in production). */
  developmentKey: boolean;
}

// Defaults and rules as in load-config.ts, so the CLI finds what the server uses.
const schema = z.object({
  NODE_ENV: z.string().default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(3000).pipe(z.number().max(65535)),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  AUDIT_PUBLIC_KEY: z.string().includes('PUBLIC KEY', { message: 'must be a PEM public key' }).optional(),
  AUDIT_PUBLIC_KEY_FILE: z.string().min(1).optional(),
  AUDIT_SIGNING_KEY: z.string().includes('PRIVATE KEY', { message: 'must be a PEM private key' }).optional(),
  AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional(),
});

export function loadVerifyConfig(env: NodeJS.ProcessEnv = process.env): VerifyConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`));
  const e = parsed.data;
  const problems: string[] = [];
  const publicKeyPem = e.AUDIT_PUBLIC_KEY ?? readFile('AUDIT_PUBLIC_KEY_FILE', e.AUDIT_PUBLIC_KEY_FILE, problems);
  const signingKeyPem = e.AUDIT_SIGNING_KEY ?? readFile('AUDIT_SIGNING_KEY_FILE', e.AUDIT_SIGNING_KEY_FILE, problems);
  if (problems.length) throw new ConfigError(problems);
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: join(e.DATA_DIR, 'audit'),
    publicKeyPem,
    signingKeyPem,
    http: { host: e.HOST, port: e.PORT },
    developmentKey: e.NODE_ENV !== 'production',
  };
}

function readFile(name: string, path: string | undefined, problems: string[]): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`${name}: ${(error as Error).message}`);
    return undefined;
  }
}
