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
  /** The whole change attempt (lock wait, read-before, intent, upstream, final record) ends within this. */
  declare readonly changeDeadlineMs: number;
  /** How long a change may wait for its project's lock, within the deadline. */
  declare readonly lockWaitMs: number;
  /** Every audit statement is cancelled (server side) and abandoned (client side) after this. */
  declare readonly statementTimeoutMs: number;
  /** PostgreSQL connections for queries, and (separately) for project locks held during a change. */
  declare readonly poolMax?: number;
  declare readonly lockPoolMax?: number;
  /** This instance's lease: renewed every third of it; intents of an instance whose lease expired are swept. */
  declare readonly leaseTtlMs: number;
  /** Intents older than this (from their commit) are swept whatever their instance's lease says. */
  declare readonly staleAfterMs: number;
  declare readonly sweepIntervalMs: number;
  /** A signed checkpoint of the chain head is logged every this many records, or this often. */
  declare readonly checkpointEveryRecords: number;
  declare readonly checkpointIntervalMs: number;
  /** Written into intents and the lease table; unique per process life. */
  declare readonly instanceId: string;
}
