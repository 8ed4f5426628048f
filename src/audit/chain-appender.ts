import { randomUUID } from 'node:crypto';
import { AuditSigner, chainHash, recordBody } from './audit-chain';
import { AuditRecord, NewAuditRecord } from './audit.types';
import { isConnectionFault } from './audit-errors';

/** One connection of the store's pool, spoken to in raw SQL (pg's client, or PGlite's node-postgres adapter). */
export interface ChainSqlClient {
  query(config: { text: string; values?: unknown[]; name?: string }): Promise<ChainQueryResult>;
  /** With an error: the connection is suspect and is destroyed rather than reused. */
  release(error?: Error): void;
}

export interface ChainSqlPool {
  connect(): Promise<ChainSqlClient>;
}

/** One result, or one per statement of a multi-statement simple query. */
type ChainQueryResult = { rows: Record<string, unknown>[] } | { rows: Record<string, unknown>[] }[];

/** A final record waiting for its place in the chain. */
interface Pending {
  intentId: string | null;
  record: NewAuditRecord;
  signer: AuditSigner;
  resolve(record: AuditRecord): void;
  reject(error: unknown): void;
}

/** A row about to be chained: its body, the intent it claims (if any), and what it was asked to store. */
interface Row {
  entry: Pending;
  record: NewAuditRecord;
  claims: string | null;
}

export interface ChainHead {
  seq: string;
  hash: string;
}

/** More records than this per transaction make one multi-row insert too large to be quick; the rest wait for the next. */
const MAX_BATCH = 100;

/**
 * Group commit of final records. Appends from this process queue here in call order; one transaction at a
 * time takes every queued record: it locks the chain head (the lock every instance takes to append), claims
 * their intents, inserts them in one statement with the hashes computed here in order, moves the head and
 * commits. So the head row is locked once per batch, not once per record, and records queued while a batch
 * is written go together into the next one.
 *
 * A batch that fails rejects only its own records (the caller keeps and retries them: storing is idempotent
 * by record id). A batch refused for one record's data is retried record by record, so one bad record fails
 * only itself.
 */
export class ChainAppender {
  private readonly queue: Pending[] = [];
  private draining?: Promise<void>;

  constructor(private readonly pool: ChainSqlPool) {}

  /**
   * Stores the final record of `intentId` (or a record of its own when null), claiming the intent. A retry
   * of a stored record resolves with the stored one; a final outcome whose intent was swept as `unknown`
   * is appended once, as its own record that `amends` the swept one.
   */
  append(intentId: string | null, record: NewAuditRecord, signer: AuditSigner): Promise<AuditRecord> {
    return new Promise<AuditRecord>((resolve, reject) => {
      this.queue.push({ intentId, record, signer, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** Settles when nothing is queued or being written (close waits for it). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) await this.writeBatch(this.queue.splice(0, MAX_BATCH));
    } finally {
      this.draining = undefined;
    }
  }

  /** Never throws: every entry of the batch is settled. */
  private async writeBatch(batch: Pending[]): Promise<void> {
    try {
      const stored = await this.inTransaction((client, head) => appendEntries(client, head, batch));
      batch.forEach((entry, i) => entry.resolve(stored[i]));
    } catch (error) {
      if (batch.length > 1 && isDataError(error)) {
        for (const entry of batch) await this.writeBatch([entry]);
        return;
      }
      for (const entry of batch) entry.reject(error);
    }
  }

  /** `work` under the chain-head lock, in one transaction; the pool's statement timeout bounds each statement. */
  async inTransaction<T>(work: (client: ChainSqlClient, head: ChainHead) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let fault: Error | undefined;
    try {
      const head = await lockHead(client);
      const result = await work(client, head);
      await client.query({ text: 'commit' });
      return result;
    } catch (error) {
      fault = error as Error;
      if (error instanceof ChainAppendError || !isConnectionFault(error)) {
        // The transaction is aborted: end it so the connection can be reused; if that fails, drop the connection.
        await client.query({ text: 'rollback' }).then(
          () => (fault = undefined),
          () => undefined,
        );
      }
      throw error;
    } finally {
      client.release(fault);
    }
  }
}

/**
 * Begins the transaction and locks the head row in one round trip (a simple query of two statements).
 * Every path that appends takes this lock first, so no append can deadlock with another.
 */
async function lockHead(client: ChainSqlClient): Promise<ChainHead> {
  const result = await client.query({ text: 'begin; select seq::text as seq, hash from audit_chain_head where id = 1 for update' });
  const rows = Array.isArray(result) ? result[result.length - 1].rows : result.rows;
  if (rows.length !== 1) throw new Error('the audit chain head row is missing');
  return rows[0] as unknown as ChainHead;
}

/** The batch's stored records, in its order, under the head lock of the caller's transaction. */
async function appendEntries(client: ChainSqlClient, head: ChainHead, batch: Pending[]): Promise<AuditRecord[]> {
  const stored = new Map<Pending, AuditRecord>();
  // The same record twice in one batch (a retry queued beside its original) is stored once.
  const first = new Map<string, Pending>();
  const copies = new Map<Pending, Pending>();
  let rows: Row[] = [];
  for (const entry of batch) {
    const original = first.get(entry.record.id);
    if (original) copies.set(entry, original);
    else {
      first.set(entry.record.id, entry);
      rows.push({ entry, record: entry.record, claims: entry.intentId });
    }
  }
  // At most two rounds: records already stored come back from the first, and those that amend a swept
  // record get new ids, which cannot be stored yet.
  for (let round = 0; rows.length; round++) {
    if (round === 2) throw new ChainAppendError('audit records kept colliding with stored ones');
    const { written, existing } = await insertChained(client, head, rows);
    for (const [row, record] of written) stored.set(row.entry, record);
    // Nothing was written: the others go again, with what the stored ones still need.
    rows = existing.length ? [...rows.filter((row) => !existing.includes(row)), ...(await settleExisting(client, existing, stored))] : [];
  }
  return batch.map((entry) => stored.get(copies.get(entry) ?? entry)!);
}

/**
 * Rows whose id is already stored: a retry of a write that landed (its answer was lost) gets the stored
 * record. A final outcome whose intent the sweeper finalised as `unknown` first becomes its own record that
 * `amends` the swept one, once: a retry of that gets the amendment.
 */
async function settleExisting(client: ChainSqlClient, rows: Row[], stored: Map<Pending, AuditRecord>): Promise<Row[]> {
  const ids = rows.map((row) => row.record.id);
  const intentIds = rows.flatMap((row) => (row.entry.intentId === null ? [] : [row.entry.intentId]));
  const result = await client.query({
    text: 'select * from audit_records where id = any($1::uuid[]) or amends = any($2::uuid[])',
    values: [ids, intentIds],
  });
  const found = (Array.isArray(result) ? result[0] : result).rows.map(toRecord);
  const again: Row[] = [];
  for (const row of rows) {
    const existing = found.find((record) => record.id === row.record.id.toLowerCase());
    if (!existing) throw new ChainAppendError(`audit record ${row.record.id} collided with a stored one but cannot be read`);
    const intentId = row.entry.intentId;
    if (!(intentId !== null && sweptAsUnknown(existing) && row.record.http_status !== null)) {
      stored.set(row.entry, existing);
      continue;
    }
    const amendment = found.find((record) => record.amends === intentId.toLowerCase());
    if (amendment) stored.set(row.entry, amendment);
    // The sweeper claimed the intent: nothing left to claim.
    else again.push({ entry: row.entry, record: { ...row.record, id: randomUUID(), amends: intentId }, claims: null });
  }
  return again;
}

/** The sweeper's record: `unknown` with no status, since nobody knew what the caller received. */
function sweptAsUnknown(record: AuditRecord): boolean {
  return record.outcome === 'unknown' && record.http_status === null;
}

/** The columns of audit_records in the order of the arrays that INSERT_CHAINED unnests. */
const COLUMNS = [
  ['id', 'uuid'],
  ['request_id', 'text'],
  ['started_at', 'timestamptz'],
  ['recorded_at', 'timestamptz'],
  ['actor_kind', 'text'],
  ['actor_subject', 'text'],
  ['actor_client_id', 'text'],
  ['source_ip', 'text'],
  ['user_agent', 'text'],
  ['project_id', 'text'],
  ['requested', 'jsonb'],
  ['before', 'jsonb'],
  ['outcome', 'text'],
  ['http_status', 'int4'],
  ['error_code', 'text'],
  ['upstream_status', 'int4'],
  ['upstream_request_id', 'text'],
  ['duration_ms', 'int4'],
  ['amends', 'uuid'],
  ['prev_hash', 'text'],
  ['hash', 'text'],
  ['signature', 'text'],
] as const;

const N = COLUMNS.length;
const REQUESTED = COLUMNS.findIndex(([name]) => name === 'requested');
const BEFORE = COLUMNS.findIndex(([name]) => name === 'before');

/**
 * One statement for the whole batch, the same text for any batch size (so it is parsed and planned once
 * per connection, as a named statement): unless one of the ids is already stored, it deletes the claimed
 * intents, inserts the rows in array order (so `seq` follows the chain), and moves the head to the last.
 * It answers the inserted ids with their seq, or the ids already stored (and then writes nothing).
 * jsonb travels as text and is parsed by the server, as a jsonb column parses it on insert.
 */
const INSERT_CHAINED = `
with existing as (
  select id from audit_records where id = any($1::uuid[])
), claimed as (
  delete from audit_intents where id = any($${N + 1}::uuid[]) and not exists (select 1 from existing)
), inserted as (
  insert into audit_records (${COLUMNS.map(([name]) => `"${name}"`).join(', ')})
  select ${COLUMNS.map(([name, type]) => (type === 'jsonb' ? `r."${name}"::jsonb` : `r."${name}"`)).join(', ')}
  from unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type === 'jsonb' ? 'text' : type}[]`).join(', ')})
    with ordinality as r(${COLUMNS.map(([name]) => `"${name}"`).join(', ')}, ord)
  where not exists (select 1 from existing)
  order by r.ord
  returning id, seq
), head as (
  update audit_chain_head set seq = (select max(seq) from inserted), hash = $${N + 2}
  where id = 1 and exists (select 1 from inserted)
)
select id::text as id, seq::text as seq, false as existing from inserted
union all
select id::text, null, true from existing`;

/**
 * Chains `rows` after `head` (hashed and signed here, in order, under the caller's head lock) and inserts them,
 * or, if any of their ids is stored already, writes nothing and names those rows.
 */
async function insertChained(client: ChainSqlClient, head: ChainHead, rows: Row[]): Promise<{ written: [Row, AuditRecord][]; existing: Row[] }> {
  // Taken under the lock, so recorded_at follows chain order within one clock.
  const recordedAt = new Date();
  const columns: unknown[][] = COLUMNS.map(() => new Array<unknown>(rows.length));
  const chained: AuditRecord[] = [];
  let prev = head.hash;
  rows.forEach((row, i) => {
    const body = recordBody(row.record, recordedAt);
    const hash = chainHash(prev, body);
    const record: AuditRecord = { ...body, seq: 0, prev_hash: prev, hash, signature: row.entry.signer.sign(hash) };
    COLUMNS.forEach(([name], c) => (columns[c][i] = record[name]));
    // jsonb as text: `requested` is never SQL NULL (a JSON null is 'null'), an absent `before` is.
    columns[REQUESTED][i] = JSON.stringify(body.requested);
    columns[BEFORE][i] = body.before === null ? null : JSON.stringify(body.before);
    chained.push(record);
    prev = hash;
  });
  const intentIds = rows.flatMap((row) => (row.claims === null ? [] : [row.claims]));
  const result = await client.query({ name: 'audit-insert-chained', text: INSERT_CHAINED, values: [...columns, intentIds, prev] });
  const answer = (Array.isArray(result) ? result[0] : result).rows as { id: string; seq: string | null; existing: boolean }[];

  const stored = new Set(answer.filter((a) => a.existing).map((a) => a.id));
  if (stored.size) return { written: [], existing: rows.filter((row, i) => stored.has(chained[i].id)) };
  const seqOf = new Map(answer.map((a) => [a.id, Number(a.seq)]));
  let last = Number(head.seq);
  const written = rows.map((row, i): [Row, AuditRecord] => {
    const seq = seqOf.get(chained[i].id);
    // seq is chain order (readers and verification walk it): a batch the database numbered otherwise is refused.
    if (seq === undefined || !(seq > last)) throw new ChainAppendError('the audit records of a batch were not numbered in chain order');
    last = seq;
    return [row, { ...chained[i], seq }];
  });
  return { written, existing: [] };
}

/**
 * The store's unknown record of a swept intent row and the rows it claimed, chained like the rest; used by the
 * sweeper, in its own transaction under the same head lock.
 */
export async function appendSwept(client: ChainSqlClient, head: ChainHead, records: NewAuditRecord[], signer: AuditSigner): Promise<AuditRecord[]> {
  const pending = records.map((record): Row => ({
    entry: { intentId: null, record, signer, resolve: () => undefined, reject: () => undefined },
    record,
    claims: null,
  }));
  const { written, existing } = await insertChained(client, head, pending);
  if (!existing.length) return written.map(([, record]) => record);
  // An intent whose insert arrived after its attempt's final record (a stalled connection) is spent: chain the rest.
  const rest = pending.filter((row) => !existing.includes(row));
  if (!rest.length) return [];
  const again = await insertChained(client, head, rest);
  if (again.existing.length) throw new ChainAppendError('audit records kept colliding with stored ones');
  return again.written.map(([, record]) => record);
}

/** A row as served and hashed: times as ISO text, `seq` as a number; every other column as it is. */
export function toRecord(row: Record<string, unknown>): AuditRecord {
  const record: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) record[column] = value instanceof Date ? value.toISOString() : value;
  return { ...(record as Omit<AuditRecord, 'seq'>), seq: Number(row.seq) };
}

/** Refused for what a record holds (class 22 data exception, 23 integrity violation), not for the store's state. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** Refused by the appender itself (never by the connection): the transaction is rolled back, the connection kept. */
export class ChainAppendError extends Error {
  override name = 'ChainAppendError';
}
