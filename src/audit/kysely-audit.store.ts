import { Kysely, Selectable, sql, Transaction } from 'kysely';
import { BffError } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';
import { AuditSigner, chainHash, toJsonValue, toSafeText } from './audit-chain';
import { AuditDatabase, AuditIntentsTable, AuditRecordsTable } from './audit-database';
import { migrateAuditSchema } from './audit.migrations';
import { AuditStore } from './audit.store';
import {
  AuditAttemptColumns,
  AuditIntent,
  AuditPage,
  AuditQuery,
  AuditRecord,
  AuditRecordBody,
  NewAuditRecord,
} from './audit.types';

export const MAX_QUERY_LIMIT = 200;
const STALE_BATCH = 100;

/**
 * Everything both stores share: schema, chain appends, intents, queries. Subclasses differ only
 * in how the Kysely dialect is built and in how per-project locks work.
 */
export abstract class KyselyAuditStore extends AuditStore {
  private closed = false;

  protected constructor(
    /** Exposed for tools and tests that need raw SQL (e.g. tampering tests). */
    readonly db: Kysely<AuditDatabase>,
  ) {
    super();
  }

  /** The per-project lock strategy: the one thing, with the dialect, that differs per store. */
  protected abstract lockProject<T>(projectId: string, fn: () => Promise<T>): Promise<T>;

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
      // Head first, then the intent: every path takes the locks in this order (no deadlocks).
      const head = await lockHead(trx);
      if (intentId !== null) await trx.deleteFrom('audit_intents').where('id', '=', intentId).execute();
      return append(trx, head, record, signer);
    });
  }

  async finalizeStaleIntents(olderThan: Date, signer: AuditSigner): Promise<AuditRecord[]> {
    this.ensureOpen();
    const written: AuditRecord[] = [];
    for (;;) {
      const batch = await this.db
        .selectFrom('audit_intents')
        .select('id')
        .where('started_at', '<', olderThan)
        .orderBy('started_at')
        .limit(STALE_BATCH)
        .execute();
      for (const { id } of batch) {
        const record = await this.db.transaction().execute(async (trx) => {
          const head = await lockHead(trx);
          // Deleting claims the intent: a request finishing now, or another instance's sweeper,
          // finds it gone, so each intent yields exactly one record.
          const intent = await trx
            .deleteFrom('audit_intents')
            .where('id', '=', id)
            .where('started_at', '<', olderThan)
            .returningAll()
            .executeTakeFirst();
          return intent ? append(trx, head, unknownRecord(intent), signer) : undefined;
        });
        if (record) written.push(record);
      }
      if (batch.length < STALE_BATCH) return written;
    }
  }

  withProjectLock<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    this.ensureOpen();
    return this.lockProject(projectId, fn);
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
    const rows = await select.orderBy('seq', 'desc').limit(limit + 1).execute();
    const items = rows.slice(0, limit).map(toRecord);
    const last = items[items.length - 1];
    return { items, next_cursor: rows.length > limit ? encodeAuditCursor(last.seq) : null };
  }

  async *readChain(batchSize = 500): AsyncIterable<AuditRecord> {
    this.ensureOpen();
    let after = '0';
    for (;;) {
      const rows = await this.db
        .selectFrom('audit_records')
        .selectAll()
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(batchSize)
        .execute();
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
  const body: AuditRecordBody = {
    ...normaliseAttempt(record),
    outcome: record.outcome,
    http_status: record.http_status ?? null,
    error_code: text(record.error_code),
    upstream_status: record.upstream_status ?? null,
    upstream_request_id: text(record.upstream_request_id),
    duration_ms: record.duration_ms ?? null,
    // Taken under the lock, so recorded_at follows chain order within one clock.
    recorded_at: new Date().toISOString(),
  };
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

/**
 * Brings the attempt fields into the exact form the database returns them in (lower-case uuid,
 * millisecond ISO time, jsonb-safe JSON, null for absent), so the hash survives the round trip.
 */
function normaliseAttempt(attempt: AuditAttemptColumns): AuditAttemptColumns {
  return {
    id: attempt.id.toLowerCase(),
    request_id: toSafeText(attempt.request_id),
    started_at: new Date(attempt.started_at).toISOString(),
    actor_kind: attempt.actor_kind,
    actor_subject: text(attempt.actor_subject),
    actor_client_id: text(attempt.actor_client_id),
    source_ip: toSafeText(attempt.source_ip),
    user_agent: text(attempt.user_agent),
    project_id: toSafeText(attempt.project_id),
    requested: toJsonValue(attempt.requested),
    before: attempt.before === undefined ? null : toJsonValue(attempt.before),
  };
}

const text = (value: string | null | undefined): string | null => (value == null ? null : toSafeText(value));

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
    // Nobody knows whether the upstream applied the change or what the caller received.
    outcome: 'unknown',
    http_status: null,
    error_code: null,
    upstream_status: null,
    upstream_request_id: null,
    duration_ms: null,
  };
}

function toRecord(row: Selectable<AuditRecordsTable>): AuditRecord {
  return {
    seq: Number(row.seq),
    id: row.id,
    request_id: row.request_id,
    started_at: row.started_at.toISOString(),
    recorded_at: row.recorded_at.toISOString(),
    actor_kind: row.actor_kind,
    actor_subject: row.actor_subject,
    actor_client_id: row.actor_client_id,
    source_ip: row.source_ip,
    user_agent: row.user_agent,
    project_id: row.project_id,
    requested: row.requested,
    before: row.before,
    outcome: row.outcome,
    http_status: row.http_status,
    error_code: row.error_code,
    upstream_status: row.upstream_status,
    upstream_request_id: row.upstream_request_id,
    duration_ms: row.duration_ms,
    prev_hash: row.prev_hash,
    hash: row.hash,
    signature: row.signature,
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
