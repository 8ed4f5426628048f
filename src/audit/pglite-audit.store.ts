import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { Kysely, PostgresDialect } from 'kysely';
import { join } from 'node:path';
import { Pool } from 'pg';
import { AuditDatabase } from './audit-database';
import { acquireDataDirLock, DataDirLock } from './data-dir-lock';
import { KyselyAuditStore } from './kysely-audit.store';

export interface PgliteAuditStoreOptions {
  /** Holds `pgdata/` (the PGlite cluster) and `audit.lock`. */
  dataDir: string;
}

/**
 * The embedded default. PGlite's own node-postgres adapter lets Kysely's stock PostgresDialect
 * drive it, so the SQL, type parsing and transactions are the very code path PostgreSQL uses.
 * The adapter's pool has one connection: statements and transactions are serialised, which is
 * also why project locks are an in-process mutex here (holding the only connection for a lock
 * would block the work done under it).
 */
export class PgliteAuditStore extends KyselyAuditStore {
  private readonly projectLocks = new KeyedMutex();

  private constructor(
    db: Kysely<AuditDatabase>,
    private readonly pglite: PGlite,
    private readonly dataDirLock: DataDirLock,
  ) {
    super(db);
  }

  /** Refuses (DataDirLockedError) when another live process has the directory open. */
  static async open(options: PgliteAuditStoreOptions): Promise<PgliteAuditStore> {
    const lock = acquireDataDirLock(options.dataDir);
    try {
      const pglite = await PGlite.create(join(options.dataDir, 'pgdata'));
      const db = new Kysely<AuditDatabase>({ dialect: new PostgresDialect({ pool: new Pool(createPgConfig(pglite)) }) });
      return new PgliteAuditStore(db, pglite, lock);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  protected lockProject<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    return this.projectLocks.run(projectId, fn);
  }

  protected async closeResources(): Promise<void> {
    try {
      await this.pglite.close();
    } finally {
      this.dataDirLock.release();
    }
  }
}

/** One promise chain per key: callers run one after another, in arrival order. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      // Forget idle keys so the map does not grow with every project ever seen.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
