import { Kysely, Selectable, sql } from 'kysely';
import { BffError } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';
import { AuditSigner, normaliseAttempt } from './audit-chain';
import { UNKNOWN_OUTCOME } from './attempt-outcome';
import { AuditDatabase, AuditIntentsTable } from './audit-database';
import { migrateAuditSchema } from './audit.migrations';
import { AuditStore } from './audit.store';
import { AuditAttemptColumns, AuditIntent, AuditPage, AuditQuery, AuditRecord, NewAuditRecord } from './audit.types';
import { ProjectBusyError } from './audit-errors';
import { ProjectLock, ProjectQueues } from './project-locks';
import { appendSwept, ChainAppender, ChainSqlPool, toRecord } from './chain-appender';

export const MAX_QUERY_LIMIT = 200;
const STALE_BATCH = 100;
/** Less time than this left for the cross-instance lock is no real chance of taking it. */
const MIN_LOCK_TRY_MS = 20;

/**
 * Everything both stores share: schema, chain appends, intents, queries. Subclasses differ only
 * in how the Kysely dialect is built and in how per-project locks work.
 */
export abstract class KyselyAuditStore extends AuditStore {
  private closed = false;
  private readonly queues = new ProjectQueues();

  private readonly appender: ChainAppender;

  protected constructor(
    /** Exposed for tools and tests that need raw SQL (e.g. tampering tests). */
    readonly db: Kysely<AuditDatabase>,
    /** The pool under `db`, for the statements of every PUT in raw SQL (prepared once per connection). */
    private readonly queryPool: ChainSqlPool,
    /** Where the chain appender (and the sweeper) speak raw SQL: one statement per batch, prepared once per connection. */
    appendPool: ChainSqlPool,
  ) {
    super();
    this.appender = new ChainAppender(appendPool);
  }

  /**
   * The cross-process part of a project lock, taken once this process's queue for the project is ours:
   * the one thing, with the dialect, that differs per store. Throws ProjectBusyError past `waitMs`.
   */
  protected abstract lockAcrossInstances(projectId: string, waitMs: number): Promise<ProjectLock>;

  /** Releases what the subclass holds beyond the Kysely pool (lock pool, PGlite, lock file). */
  protected abstract closeResources(): Promise<void>;

  async migrate(): Promise<void> {
    this.ensureOpen();
    await migrateAuditSchema(this.db as Kysely<unknown>);
  }

  async ping(): Promise<void> {
    this.ensureOpen();
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // Appends already queued are written (each statement bounded by the statement timeout), then the pools end.
      await this.appender.idle();
      await this.db.destroy();
    } finally {
      await this.closeResources();
    }
  }

  async writeIntent(intent: AuditIntent): Promise<void> {
    this.ensureOpen();
    // Autocommit: the insert is committed (and durable) when it resolves.
    const row = attemptRow(intent);
    // On every PUT: a prepared statement on the raw pool (Kysely's compile of the insert cost more than the call).
    const client = await this.queryPool.connect();
    try {
      await client.query({
        name: 'audit-insert-intent',
        text: INSERT_INTENT,
        values: INTENT_COLUMNS.map((column) => (column === 'instance_id' ? intent.instance_id : row[column])),
      });
    } finally {
      client.release();
    }
  }

  finalize(intentId: string | null, record: NewAuditRecord, signer: AuditSigner): Promise<AuditRecord> {
    this.ensureOpen();
    return this.appender.append(intentId, record, signer);
  }

  async finalizeStaleIntents(rule: { olderThanMs: number }, signer: AuditSigner): Promise<AuditRecord[]> {
    this.ensureOpen();
    // The database's clock decides, for every instance alike: no client clock skew can make it misfire.
    const stale = `(committed_at < now() - $1::int * interval '1 millisecond'
      or not exists (select 1 from audit_instance_leases l where l.instance_id = audit_intents.instance_id and l.expires_at > now()))`;
    const written: AuditRecord[] = [];
    for (;;) {
      const { records, claimed } = await this.appender.inTransaction(async (client, head) => {
        // Deleting claims the intents: a request finishing now, or another instance's sweeper, finds them
        // gone, so each intent yields exactly one record. Under the head lock, like every append.
        const result = await client.query({
          text: `delete from audit_intents where id in (select id from audit_intents where ${stale} order by committed_at limit ${STALE_BATCH})
            and ${stale} returning *`,
          values: [Math.round(rule.olderThanMs)],
        });
        const rows = (Array.isArray(result) ? result[0] : result).rows as unknown as Selectable<AuditIntentsTable>[];
        rows.sort((a, b) => a.committed_at.getTime() - b.committed_at.getTime());
        return { records: await appendSwept(client, head, rows.map(unknownRecord), signer), claimed: rows.length };
      });
      written.push(...records);
      if (claimed < STALE_BATCH) return written;
    }
  }

  async renewLease(instanceId: string, ttlMs: number): Promise<void> {
    this.ensureOpen();
    await sql`insert into audit_instance_leases (instance_id, expires_at)
      values (${instanceId}, now() + ${Math.round(ttlMs)}::int * interval '1 millisecond')
      on conflict (instance_id) do update set expires_at = excluded.expires_at`.execute(this.db);
    // Leases of instances gone for long are litter, not evidence: their intents were swept long ago.
    await sql`delete from audit_instance_leases where expires_at < now() - interval '1 day'`.execute(this.db);
  }

  async dropLease(instanceId: string): Promise<void> {
    this.ensureOpen();
    await this.db.deleteFrom('audit_instance_leases').where('instance_id', '=', instanceId).execute();
  }

  async lockProject(projectId: string, waitMs: number): Promise<ProjectLock> {
    this.ensureOpen();
    const until = Date.now() + waitMs;
    const turn = await this.queues.acquire(projectId, waitMs);
    try {
      let lock = turn.carried;
      if (lock?.lost.aborted) {
        // Handed over with a session that died meanwhile: dropped (its release destroys it), and taken anew.
        await lock.release();
        lock = undefined;
      }
      if (!lock) {
        const left = until - Date.now();
        // Our turn came at the very end of the wait: busy, not a store that failed to answer in no time.
        if (left < MIN_LOCK_TRY_MS) throw new ProjectBusyError(waitMs / 1000);
        lock = await this.lockAcrossInstances(projectId, left);
      }
      const held = lock;
      let released: Promise<void> | undefined;
      return {
        lost: held.lost,
        // The next change of this project in this process takes the lock as it is: no unlock and lock between.
        release: () => (released ??= !held.lost.aborted && turn.handOver(held) ? Promise.resolve() : held.release().finally(turn.leave)),
      };
    } catch (error) {
      turn.leave();
      throw error;
    }
  }

  async query(query: AuditQuery): Promise<AuditPage> {
    this.ensureOpen();
    const limit = Math.min(Math.max(Math.trunc(query.limit) || 1, 1), MAX_QUERY_LIMIT);
    const before = query.cursor === undefined ? undefined : decodeAuditCursor(query.cursor);
    const allowed = query.projectIds;
    if (allowed !== '*' && (allowed.length === 0 || (query.projectId !== undefined && !allowed.includes(query.projectId)))) {
      return { items: [], next_cursor: null };
    }

    let select = this.db.selectFrom('audit_records').selectAll();
    if (query.projectId !== undefined) select = select.where('project_id', '=', query.projectId);
    else if (allowed !== '*') select = select.where('project_id', 'in', allowed);
    if (query.actor !== undefined) select = select.where('actor_subject', '=', query.actor);
    if (query.outcome !== undefined) select = select.where('outcome', '=', query.outcome);
    if (query.from) select = select.where('recorded_at', '>=', query.from);
    if (query.to) select = select.where('recorded_at', '<', query.to);
    if (before !== undefined) select = select.where('seq', '<', before);

    // One extra row tells whether there is a next page. Keyset paging on seq: rows appended
    // meanwhile have larger seqs, so pages never repeat or skip a record.
    const rows = await select
      .orderBy('seq', 'desc')
      .limit(limit + 1)
      .execute();
    const items = rows.slice(0, limit).map(toRecord);
    const last = items[items.length - 1];
    return { items, next_cursor: rows.length > limit ? encodeAuditCursor(last.seq) : null };
  }

  async *readChain(batchSize = 500): AsyncIterable<AuditRecord> {
    this.ensureOpen();
    let after = '0';
    for (;;) {
      const rows = await this.db.selectFrom('audit_records').selectAll().where('seq', '>', after).orderBy('seq').limit(batchSize).execute();
      for (const row of rows) yield toRecord(row);
      if (rows.length < batchSize) return;
      after = rows[rows.length - 1].seq;
    }
  }

  async readHead(): Promise<{ seq: number; hash: string }> {
    this.ensureOpen();
    const head = await this.db.selectFrom('audit_chain_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
    return { seq: Number(head.seq), hash: head.hash };
  }

  async intentBacklog(): Promise<{ pending: number; oldestAgeMs: number | null }> {
    this.ensureOpen();
    const { rows } = await sql<{ pending: string; oldest_ms: string | null }>`
      select count(*) as pending, (extract(epoch from now() - min(committed_at)) * 1000)::bigint as oldest_ms from audit_intents`.execute(this.db);
    return { pending: Number(rows[0].pending), oldestAgeMs: rows[0].oldest_ms === null ? null : Number(rows[0].oldest_ms) };
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error('The audit store is closed.');
  }
}

/** The intent's columns, in the order of INSERT_INTENT's parameters. */
const INTENT_COLUMNS = [
  'id',
  'instance_id',
  'request_id',
  'started_at',
  'actor_kind',
  'actor_subject',
  'actor_client_id',
  'source_ip',
  'user_agent',
  'project_id',
  'requested',
  'before',
] as const satisfies readonly (keyof AuditIntent)[];

// Autocommit: the insert is committed (and durable) when it resolves. committed_at is the database's clock.
const INSERT_INTENT = `insert into audit_intents (${INTENT_COLUMNS.join(', ')})
  values (${INTENT_COLUMNS.map((column, i) => `$${i + 1}${column === 'requested' || column === 'before' ? '::jsonb' : ''}`).join(', ')})`;

function attemptRow(attempt: AuditAttemptColumns) {
  const row = normaliseAttempt(attempt);
  return { ...row, requested: JSON.stringify(row.requested), before: row.before === null ? null : JSON.stringify(row.before) };
}

function unknownRecord(intent: Selectable<AuditIntentsTable>): NewAuditRecord {
  return {
    id: intent.id,
    request_id: intent.request_id,
    started_at: intent.started_at.toISOString(),
    actor_kind: intent.actor_kind,
    actor_subject: intent.actor_subject,
    actor_client_id: intent.actor_client_id,
    source_ip: intent.source_ip,
    user_agent: intent.user_agent,
    project_id: intent.project_id,
    requested: intent.requested,
    before: intent.before,
    ...UNKNOWN_OUTCOME,
  };
}

/** Opaque to callers: base64url of the last seq on the page. */
export function encodeAuditCursor(seq: number): string {
  return Buffer.from(String(seq), 'utf8').toString('base64url');
}

/** The seq to continue below, as the int8 text pg expects; a 400 for anything else. */
export function decodeAuditCursor(cursor: string): string {
  const seq = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9][0-9]{0,17}$/.test(seq) || encodeAuditCursor(Number(seq)) !== cursor) {
    throw new BffError(400, ErrorCode.ValidationFailed, 'The cursor is not valid.', {
      errors: [{ field: 'cursor', message: 'must be the next_cursor of a previous page' }],
    });
  }
  return seq;
}
