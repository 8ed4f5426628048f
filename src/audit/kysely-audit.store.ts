import { Kysely, Selectable, sql, Transaction } from 'kysely';
import { randomUUID } from 'node:crypto';
import { BffError } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';
import { AuditSigner, chainHash, normaliseAttempt, recordBody } from './audit-chain';
import { UNKNOWN_OUTCOME } from './attempt-outcome';
import { AuditDatabase, AuditIntentsTable, AuditRecordsTable } from './audit-database';
import { migrateAuditSchema } from './audit.migrations';
import { AuditStore } from './audit.store';
import { AuditAttemptColumns, AuditIntent, AuditPage, AuditQuery, AuditRecord, NewAuditRecord } from './audit.types';
import { ProjectBusyError } from './audit-errors';
import { ProjectLock, ProjectQueues } from './project-locks';

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

  protected constructor(
    /** Exposed for tools and tests that need raw SQL (e.g. tampering tests). */
    readonly db: Kysely<AuditDatabase>,
  ) {
    super();
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
      await this.db.destroy();
    } finally {
      await this.closeResources();
    }
  }

  async writeIntent(intent: AuditIntent): Promise<void> {
    this.ensureOpen();
    // Autocommit: the insert is committed (and durable) when it resolves.
    await this.db
      .insertInto('audit_intents')
      .values({ ...attemptRow(intent), instance_id: intent.instance_id })
      .execute();
  }

  async finalize(intentId: string | null, record: NewAuditRecord, signer: AuditSigner): Promise<AuditRecord> {
    this.ensureOpen();
    return this.db.transaction().execute(async (trx) => {
      // Head first, then the intent: every path takes the locks in this order (no deadlocks). Under the
      // head lock no other append runs, so what is read here stays true until the commit.
      const head = await lockHead(trx);
      let row = record;
      const existing = await trx.selectFrom('audit_records').selectAll().where('id', '=', record.id).executeTakeFirst();
      if (existing) {
        // A retry of a write that did land (its answer was lost): stored once.
        if (!(intentId !== null && sweptAsUnknown(existing) && record.http_status !== null)) return toRecord(existing);
        // The sweeper got there first: the real outcome amends its `unknown` record, once.
        const amendment = await trx.selectFrom('audit_records').selectAll().where('amends', '=', intentId).executeTakeFirst();
        if (amendment) return toRecord(amendment);
        row = { ...record, id: randomUUID(), amends: intentId };
      } else if (intentId !== null) {
        await trx.deleteFrom('audit_intents').where('id', '=', intentId).execute();
      }
      return append(trx, head, row, signer);
    });
  }

  async finalizeStaleIntents(rule: { olderThanMs: number }, signer: AuditSigner): Promise<AuditRecord[]> {
    this.ensureOpen();
    // The database's clock decides, for every instance alike: no client clock skew can make it misfire.
    const stale = sql<boolean>`(audit_intents.committed_at < now() - ${Math.round(rule.olderThanMs)}::int * interval '1 millisecond'
      or not exists (select 1 from audit_instance_leases l where l.instance_id = audit_intents.instance_id and l.expires_at > now()))`;
    const written: AuditRecord[] = [];
    for (;;) {
      const batch = await this.db.selectFrom('audit_intents').select('id').where(stale).orderBy('committed_at').limit(STALE_BATCH).execute();
      for (const { id } of batch) {
        const record = await this.db.transaction().execute(async (trx) => {
          const head = await lockHead(trx);
          // Deleting claims the intent: a request finishing now, or another instance's sweeper,
          // finds it gone, so each intent yields exactly one record.
          const intent = await trx.deleteFrom('audit_intents').where('id', '=', id).where(stale).returningAll().executeTakeFirst();
          // An intent whose insert arrived after its attempt's final record (a stalled connection) is spent.
          if (!intent || (await recordExists(trx, intent.id))) return undefined;
          return append(trx, head, unknownRecord(intent), signer);
        });
        if (record) written.push(record);
      }
      if (batch.length < STALE_BATCH) return written;
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
    const leaveQueue = await this.queues.acquire(projectId, waitMs);
    try {
      const left = until - Date.now();
      // Our turn came at the very end of the wait: busy, not a store that failed to answer in no time.
      if (left < MIN_LOCK_TRY_MS) throw new ProjectBusyError(waitMs / 1000);
      const lock = await this.lockAcrossInstances(projectId, left);
      let released: Promise<void> | undefined;
      return {
        lost: lock.lost,
        release: () => (released ??= lock.release().finally(leaveQueue)),
      };
    } catch (error) {
      leaveQueue();
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

type Head = { seq: string; hash: string };

/** The chain lock: the head row, locked until the transaction ends. */
function lockHead(trx: Transaction<AuditDatabase>): Promise<Head> {
  return trx.selectFrom('audit_chain_head').select(['seq', 'hash']).where('id', '=', 1).forUpdate().executeTakeFirstOrThrow();
}

async function append(trx: Transaction<AuditDatabase>, head: Head, record: NewAuditRecord, signer: AuditSigner): Promise<AuditRecord> {
  // Taken under the lock, so recorded_at follows chain order within one clock.
  const body = recordBody(record, new Date());
  const hash = chainHash(head.hash, body);
  const signature = signer.sign(hash);
  const { seq } = await trx
    .insertInto('audit_records')
    .values({
      ...body,
      requested: JSON.stringify(body.requested),
      before: body.before === null ? null : JSON.stringify(body.before),
      prev_hash: head.hash,
      hash,
      signature,
    })
    .returning('seq')
    .executeTakeFirstOrThrow();
  await trx.updateTable('audit_chain_head').set({ seq, hash }).where('id', '=', 1).execute();
  return { ...body, seq: Number(seq), prev_hash: head.hash, hash, signature };
}

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

/** The sweeper's record: `unknown` with no status, since nobody knew what the caller received. */
function sweptAsUnknown(row: Selectable<AuditRecordsTable>): boolean {
  return row.outcome === 'unknown' && row.http_status === null;
}

async function recordExists(trx: Transaction<AuditDatabase>, id: string): Promise<boolean> {
  return (await trx.selectFrom('audit_records').select('seq').where('id', '=', id).executeTakeFirst()) !== undefined;
}

/** A row as served and hashed: times as ISO text, `seq` as a number; every other column as it is. */
function toRecord(row: Selectable<AuditRecordsTable>): AuditRecord {
  const record: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) record[column] = value instanceof Date ? value.toISOString() : value;
  return { ...(record as Omit<AuditRecord, 'seq'>), seq: Number(row.seq) };
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
