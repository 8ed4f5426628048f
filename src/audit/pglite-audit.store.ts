import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { Kysely, PostgresDialect } from 'kysely';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Pool } from 'pg';
import { AuditDatabase } from './audit-database';
import { acquireDataDirLock, DataDirLock } from './data-dir-lock';
import { ChainSqlPool } from './chain-appender';
import { KyselyAuditStore } from './kysely-audit.store';
import { BUILT_TEMPLATE_DIR, pgliteStartParams, seedFromTemplate } from './pglite-template';
import { NEVER_LOST, ProjectLock } from './project-locks';

export interface PgliteAuditStoreOptions {
  /** Holds `pgdata/` (the PGlite cluster) and `audit.lock`. */
  dataDir: string;
  /** Copied into a new data directory instead of running initdb (pglite-template.ts); default: the build's. */
  templateDir?: string;
}

/**
 * The embedded default. PGlite's own node-postgres adapter lets Kysely's stock PostgresDialect
 * drive it, so the SQL, type parsing and transactions are the very code path PostgreSQL uses.
 * The adapter's pool has one connection: statements and transactions are serialised, which is
 * also why project locks are only the in-process queue here (holding the only connection for a
 * lock would block the work done under it).
 */
export class PgliteAuditStore extends KyselyAuditStore {
  private constructor(
    db: Kysely<AuditDatabase>,
    queryPool: ChainSqlPool,
    appendPool: ChainSqlPool,
    private readonly pglite: PGlite,
    private readonly dataDirLock: DataDirLock,
  ) {
    super(db, queryPool, appendPool);
  }

  /** Refuses (DataDirLockedError) when another live process has the directory open. */
  static async open(options: PgliteAuditStoreOptions): Promise<PgliteAuditStore> {
    const lock = acquireDataDirLock(options.dataDir);
    try {
      // V8's baseline WebAssembly compiler only: PGlite's 9 MB module otherwise tiers up to optimised code
      // on background threads, which cost 45–110 MB RSS and ~0.5 s of a restart on a pinned core, and more CPU
      // per PUT than the optimised code saves (docs/performance.md, "--liftoff-only re-checked"). Only a process that opens
      // the embedded store gets here; a Node flag naming liftoff on the command line wins.
      if (!process.execArgv.some((arg) => arg.includes('liftoff'))) setFlagsFromString('--liftoff-only');
      const pgdata = join(options.dataDir, 'pgdata');
      seedFromTemplate(options.templateDir ?? BUILT_TEMPLATE_DIR, pgdata);
      const pglite = await PGlite.create(pgdata, { startParams: pgliteStartParams(PGlite.defaultStartParams) });
      const pool = new Pool(createPgConfig(pglite));
      const db = new Kysely<AuditDatabase>({ dialect: new PostgresDialect({ pool }) });
      // One connection for everything: the queries and the appender share it.
      const raw = pool as unknown as ChainSqlPool;
      return new PgliteAuditStore(db, raw, raw, pglite, lock);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /** One process owns the directory, so the in-process queue already excludes every other holder. */
  protected lockAcrossInstances(): Promise<ProjectLock> {
    return Promise.resolve({ lost: NEVER_LOST, release: () => Promise.resolve() });
  }

  protected async closeResources(): Promise<void> {
    try {
      await this.pglite.close();
    } finally {
      this.dataDirLock.release();
    }
  }
}
