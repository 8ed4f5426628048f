import type { Logger } from 'pino';

/**
 * Audit settings and DI token. The lead builds it from config (`AuditModule.forRoot`); nothing
 * in src/audit reads the environment.
 */
export abstract class AuditOptions {
  /** PostgreSQL URL; unset means the embedded PGlite store under `dataDir`. */
  declare readonly databaseUrl?: string;
  /** Embedded store directory (default `./data/audit`); the generated signing key sits beside it. */
  declare readonly dataDir: string;
  /** Ed25519 private key (PKCS#8 PEM). Unset: generated once at `<dataDir>-signing-key.pem`. */
  declare readonly signingKeyPem?: string;
  /** Intents older than this are finalised as `unknown`: the upstream deadline plus a margin. */
  declare readonly staleAfterMs: number;
  declare readonly sweepIntervalMs: number;
  /** Written into intents, to tell which instance left one behind. */
  declare readonly instanceId: string;
  /** Where records are logged as structured lines; a plain pino logger when unset. */
  declare readonly logger?: Logger;
}
