import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, PostgresPool, PostgresPoolClient } from 'kysely';
import { Pool, PoolClient, PoolConfig } from 'pg';
import { AuditDatabase } from './audit-database';
import { AuditTimeoutError, isConnectionFault, ProjectBusyError, within } from './audit-errors';
import { ChainSqlPool } from './chain-appender';
import { KyselyAuditStore } from './kysely-audit.store';
import { ProjectLock } from './project-locks';

export interface PostgresAuditStoreOptions {
  databaseUrl: string;
  /** Connections for queries. Default 10. */
  poolMax?: number;
  /** Connections for project locks, one per project with a change in flight here. Default 30. */
  lockPoolMax?: number;
  /** Server-side `statement_timeout` and client-side give-up time of every audit query. Default 2 s. */
  statementTimeoutMs?: number;
  /** The longest a change waits for its project's lock (and so for a lock connection). Default 5 s. */
  lockWaitMs?: number;
}

/**
 * The PostgreSQL store for several instances. Project locks are session advisory locks, each held on a
 * connection of its own pool: work done under the lock (reading `before`, writing the intent) uses the
 * query pool, so lock holders can never starve it and deadlock. The chain appender has a connection of its own.
 *
 * A store fault fails one request, never the process: every client checked out of any of its pools has an
 * `'error'` listener (pg emits it on a dead connection, and an unhandled one ends the process), and a
 * client whose connection failed or timed out is destroyed rather than reused. PostgreSQL drops a dead
 * session's advisory locks with it, so the lock holder is told through `ProjectLock.lost`.
 */
export class PostgresAuditStore extends KyselyAuditStore {
  private constructor(
    db: Kysely<AuditDatabase>,
    queryPool: ChainSqlPool,
    private readonly appendPool: ChainSqlPool & { end(): Promise<void> },
    private readonly lockPool: Pool,
    private readonly statementTimeoutMs: number,
  ) {
    super(db, queryPool, appendPool);
  }

  /** Connects lazily: `migrate()` or the first query finds out whether the database answers. */
  static open(options: PostgresAuditStoreOptions): Promise<PostgresAuditStore> {
    const timeoutMs = options.statementTimeoutMs ?? 2_000;
    const common: PoolConfig = {
      connectionString: options.databaseUrl,
      // Fail fast (and closed) when the database is unreachable instead of hanging the request.
      connectionTimeoutMillis: timeoutMs,
      // A session that stalls inside a transaction would hold the chain head's row lock for every instance.
      idle_in_transaction_session_timeout: 2 * timeoutMs,
      keepAlive: true,
    };
    const queryConfig: PoolConfig = { ...common, statement_timeout: timeoutMs, query_timeout: timeoutMs + 1_000 };
    const pool = new Pool({ ...queryConfig, max: options.poolMax ?? 10 });
    // The chain appender writes one batch at a time: one connection of its own is all it needs, and with it
    // a batch never queues behind the changes' intent inserts for a connection of the query pool.
    const appendPool = new Pool({ ...queryConfig, max: 1 });
    // Lock waits are bounded per acquisition (lock_timeout, and the wait for a free lock connection), not by
    // the statement timeout.
    const lockPool = new Pool({ ...common, max: options.lockPoolMax ?? 30, connectionTimeoutMillis: (options.lockWaitMs ?? 5_000) + timeoutMs });
    // An idle connection that drops emits 'error' on the pool; the next query fails and is reported by its caller.
    pool.on('error', () => undefined);
    lockPool.on('error', () => undefined);
    appendPool.on('error', () => undefined);
    const queries = faultTolerantPool(pool);
    const db = new Kysely<AuditDatabase>({ dialect: new PostgresDialect({ pool: queries }) });
    const appends = faultTolerantPool(appendPool) as unknown as ChainSqlPool & { end(): Promise<void> };
    return Promise.resolve(new PostgresAuditStore(db, queries as unknown as ChainSqlPool, appends, lockPool, timeoutMs));
  }

  /** The schema the audit tables live in (the search path's first), once known. */
  private schema?: string;

  protected async lockAcrossInstances(projectId: string, waitMs: number): Promise<ProjectLock> {
    const until = Date.now() + waitMs;
    const client = await connectWithin(this.lockPool, waitMs);
    const lost = new AbortController();
    const onLost = (error?: Error) => lost.abort(error ?? new Error('the lock connection ended'));
    client.on('error', onLost);
    client.once('end', onLost);
    const drop = (error: Error) => {
      client.off('end', onLost);
      // Destroyed, not reused: its session ends, and with it the lock. The listener stays for late errors.
      client.release(error);
    };
    let key: string;
    try {
      // Once per store: advisory locks are database-wide, the audit chain they protect is per schema.
      this.schema ??= (
        await client.query<{ schema: string }>({ text: 'select current_schema() as schema', query_timeout: this.statementTimeoutMs } as never)
      ).rows[0].schema;
      key = projectLockKey(projectId, this.schema);
    } catch (error) {
      drop(error as Error);
      throw error;
    }
    const remaining = Math.max(1, Math.round(until - Date.now()));
    try {
      // One round trip; the key is a number we computed, never caller input. A wait past lock_timeout is
      // the server's 55P03; a server that does not answer at all is our own give-up, a little later.
      await client.query({
        text: `set lock_timeout = ${remaining}; select pg_advisory_lock(${key})`,
        query_timeout: remaining + LOCK_ANSWER_MARGIN_MS,
      } as never);
    } catch (error) {
      drop(error as Error);
      if ((error as { code?: string }).code === '55P03') throw new ProjectBusyError(remaining / 1000);
      throw error;
    }
    return {
      lost: lost.signal,
      release: async () => {
        if (lost.signal.aborted) return drop(lost.signal.reason as Error);
        try {
          await client.query({ text: `select pg_advisory_unlock(${key})`, query_timeout: this.statementTimeoutMs } as never);
          client.off('error', onLost);
          client.off('end', onLost);
          client.release();
        } catch (error) {
          drop(error as Error);
        }
      },
    };
  }

  protected async closeResources(): Promise<void> {
    await Promise.all([this.appendPool.end(), this.lockPool.end()]);
  }
}

/** How much later than lock_timeout we stop waiting for the server to say so. */
const LOCK_ANSWER_MARGIN_MS = 100;

/**
 * A 64-bit advisory-lock key per project and audit schema, namespaced so it cannot meet another feature's
 * keys. Two deployments with their audit in different schemas of one database keep separate chains, so their
 * changes need not exclude each other.
 */
export function projectLockKey(projectId: string, schema: string): string {
  return createHash('sha256').update(`sms-callback-bff:${schema}:project:${projectId}`).digest().readBigInt64BE(0).toString();
}

/** A lock connection within `waitMs`: a pool full of other projects' locks is a busy answer, not an outage. */
async function connectWithin(pool: Pool, waitMs: number): Promise<PoolClient> {
  const connecting = pool.connect();
  try {
    return await within(connecting, waitMs, 'lock connection');
  } catch (error) {
    if (!(error instanceof AuditTimeoutError)) throw error;
    // Given back as soon as it arrives.
    connecting.then(
      (client) => client.release(),
      () => undefined,
    );
    // Every lock connection is held by other projects' changes: busy. Otherwise the database did not answer.
    if (pool.waitingCount > 0 && pool.idleCount === 0) throw new ProjectBusyError(waitMs / 1000);
    throw error;
  }
}

/**
 * The query pool as Kysely sees it, with the two fault rules above: an `'error'` listener while a client is
 * checked out, and destruction of a client whose connection failed (anything that is not an SQL error
 * reported by the server, or the server ending the session) instead of handing it to the next query.
 */
function faultTolerantPool(pool: Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let broken: Error | undefined;
      const onError = (error: Error) => (broken ??= error);
      client.on('error', onError);
      const query = ((...args: Parameters<PoolClient['query']>) => {
        const result = (client.query as (...a: unknown[]) => unknown)(...args);
        if (result instanceof Promise) {
          return result.catch((error: Error) => {
            if (isConnectionFault(error)) broken ??= error;
            throw error;
          });
        }
        return result;
      }) as PostgresPoolClient['query'];
      return {
        query,
        // `error`: the caller found the connection unusable (e.g. a transaction it could not roll back).
        release: (error?: unknown) => {
          if (error instanceof Error) broken ??= error;
          // The listener stays on a destroyed client: pg may still report its end after release.
          if (!broken) client.off('error', onError);
          client.release(broken);
        },
      };
    },
    end: () => pool.end(),
  };
}
