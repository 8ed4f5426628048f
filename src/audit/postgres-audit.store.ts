import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect } from 'kysely';
import { Pool, PoolConfig } from 'pg';
import { AuditDatabase } from './audit-database';
import { KyselyAuditStore } from './kysely-audit.store';

export interface PostgresAuditStoreOptions {
  databaseUrl: string;
  /** Connections for queries, and (separately) for project locks. Default 10 each. */
  poolMax?: number;
}

/**
 * The PostgreSQL store for several instances. Project locks are session advisory locks held on
 * a connection of their own pool: work done under the lock (reading `before`, writing the intent)
 * uses the query pool, so lock holders can never starve it and deadlock.
 */
export class PostgresAuditStore extends KyselyAuditStore {
  private constructor(
    db: Kysely<AuditDatabase>,
    private readonly lockPool: Pool,
  ) {
    super(db);
  }

  /** Connects lazily: `migrate()` or the first query finds out whether the database answers. */
  static open(options: PostgresAuditStoreOptions): Promise<PostgresAuditStore> {
    const config: PoolConfig = {
      connectionString: options.databaseUrl,
      max: options.poolMax ?? 10,
      // Fail fast (and closed) when the database is unreachable instead of hanging the request.
      connectionTimeoutMillis: 5_000,
    };
    const pool = new Pool(config);
    const lockPool = new Pool(config);
    // An idle connection that drops emits 'error'; unhandled, that would crash the process. The
    // next query on the pool fails and is reported by its caller.
    pool.on('error', () => undefined);
    lockPool.on('error', () => undefined);
    return Promise.resolve(new PostgresAuditStore(new Kysely<AuditDatabase>({ dialect: new PostgresDialect({ pool }) }), lockPool));
  }

  protected async lockProject<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    const key = projectLockKey(projectId);
    const client = await this.lockPool.connect();
    try {
      await client.query('select pg_advisory_lock($1::bigint)', [key]);
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    try {
      return await fn();
    } finally {
      try {
        await client.query('select pg_advisory_unlock($1::bigint)', [key]);
        client.release();
      } catch (error) {
        // Destroyed, not reused: its session ends, and with it the lock.
        client.release(error as Error);
      }
    }
  }

  protected async closeResources(): Promise<void> {
    await this.lockPool.end();
  }
}

/** A 64-bit advisory-lock key per project, namespaced so it cannot meet another feature's keys. */
export function projectLockKey(projectId: string): string {
  return createHash('sha256').update(`sms-callback-bff:project:${projectId}`).digest().readBigInt64BE(0).toString();
}
