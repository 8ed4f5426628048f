import { z } from 'zod';
import { auditDataDir, auditVariables, httpVariables } from './config.schema';
import { fileContent } from './env-parsers';
import { ConfigError, environment, Environment, issueProblems, unknownVariables } from './load-config';

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

// The server's own fields (defaults and rules included), so that the CLI finds what the server uses.
const verifySchema = z
  .object({
    ...httpVariables.pick({ HOST: true, PORT: true }).shape,
    ...auditVariables.pick({
      NODE_ENV: true,
      DATABASE_URL: true,
      DATA_DIR: true,
      AUDIT_SIGNING_KEY: true,
      AUDIT_SIGNING_KEY_FILE: true,
      AUDIT_PUBLIC_KEY: true,
    }).shape,
    AUDIT_PUBLIC_KEY_FILE: auditVariables.shape.AUDIT_PUBLIC_KEY_FILE.pipe(fileContent().optional()),
  })
  .transform((e): VerifyConfig => ({
    databaseUrl: e.DATABASE_URL,
    dataDir: auditDataDir(e.DATA_DIR),
    publicKeyPem: e.AUDIT_PUBLIC_KEY ?? e.AUDIT_PUBLIC_KEY_FILE,
    signingKeyPem: e.AUDIT_SIGNING_KEY ?? e.AUDIT_SIGNING_KEY_FILE,
    http: { host: e.HOST, port: e.PORT },
    developmentKey: e.NODE_ENV !== 'production',
  }));

export function loadVerifyConfig(env: Environment = environment()): VerifyConfig {
  const parsed = verifySchema.safeParse(env);
  const problems = [...unknownVariables(env), ...(parsed.error ? issueProblems(parsed.error, 0) : [])];
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}
