import { randomUUID } from 'node:crypto';
import { UNKNOWN_OUTCOME } from '../../../src/audit/attempt-outcome';
import { AuditSigner, chainHash, GENESIS_HASH, normaliseAttempt, recordBody } from '../../../src/audit/audit-chain';
import { AuditStore } from '../../../src/audit/audit.store';
import { AuditIntent, AuditPage, AuditQuery, AuditRecord, NewAuditRecord } from '../../../src/audit/audit.types';
import { decodeAuditCursor, encodeAuditCursor, MAX_QUERY_LIMIT } from '../../../src/audit/kysely-audit.store';
import { ProjectLock, ProjectQueues } from '../../../src/audit/project-locks';

export type AuditStoreOperation = keyof AuditStore;

interface StoredIntent {
  intent: AuditIntent;
  /** The store's clock at commit, as the database's `committed_at`. */
  committedAt: number;
}

interface Fault {
  operation: AuditStoreOperation;
  error: Error;
  times: number;
}

/** One day, after which an expired lease is litter (as the SQL stores clean them). */
const LEASE_LITTER_MS = 24 * 60 * 60 * 1000;

/**
 * The audit store port in memory, with the semantics of `KyselyAuditStore`: durable intents, finalize with
 * the same idempotency and `amends` rules, a real hash chain (`chainHash`, signed by the given signer),
 * in-process project locks through `ProjectQueues`, the same query filters and keyset paging, leases and
 * staleness by the store's own clock (injectable, as the database's `now()`).
 *
 * For tests: scriptable faults (`failNext`, `goDown`), locks that can be made lost, and direct views of
 * records and intents. Everything handed out is a copy.
 */
export class MemoryAuditStore extends AuditStore {
  private records: AuditRecord[] = [];
  private readonly intents = new Map<string, StoredIntent>();
  private readonly leases = new Map<string, number>();
  private head = { seq: 0, hash: GENESIS_HASH };
  private readonly queues = new ProjectQueues();
  private readonly heldLocks = new Map<string, Set<AbortController>>();
  private readonly faults: Fault[] = [];
  private down?: Error;
  private closed = false;

  constructor(
    /** The store's clock (epoch ms): decides leases, staleness and `recorded_at`. */
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  // Test controls.

  /** The next `times` calls of `operation` throw `error`. */
  failNext(operation: AuditStoreOperation, error: Error = new Error(`the audit store is unavailable (${operation})`), times = 1): this {
    this.faults.push({ operation, error, times });
    return this;
  }

  /** Every call throws until `comeBack()`: the database is away. */
  goDown(error: Error = new Error('the audit store is unavailable')): void {
    this.down = error;
  }

  comeBack(): void {
    this.down = undefined;
  }

  /** Aborts the `lost` signal of every lock held on the project, as a dead database session would. */
  loseLocks(projectId: string, reason: unknown = new Error('the lock session died')): void {
    for (const controller of this.heldLocks.get(projectId) ?? []) controller.abort(reason);
  }

  /** How many holders the project's lock has now (0 or 1). */
  locksHeld(projectId: string): number {
    return this.heldLocks.get(projectId)?.size ?? 0;
  }

  allRecords(): AuditRecord[] {
    return structuredClone(this.records);
  }

  recordsOf(requestId: string): AuditRecord[] {
    return structuredClone(this.records.filter((r) => r.request_id === requestId));
  }

  pendingIntents(): AuditIntent[] {
    return [...this.intents.values()].map((i) => structuredClone(i.intent));
  }

  /** Empties the store (records, intents, chain); leases and faults stay. */
  clear(): void {
    this.records = [];
    this.intents.clear();
    this.head = { seq: 0, hash: GENESIS_HASH };
  }

  // The port.

  async migrate(): Promise<void> {
    this.enter('migrate');
  }

  async ping(): Promise<void> {
    this.enter('ping');
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async writeIntent(intent: AuditIntent): Promise<void> {
    this.enter('writeIntent');
    const row = { ...normaliseAttempt(intent), instance_id: intent.instance_id };
    if (this.intents.has(row.id)) throw new Error(`duplicate key value violates unique constraint "audit_intents_pkey" (${row.id})`);
    this.intents.set(row.id, { intent: row, committedAt: this.now() });
  }

  async finalize(intentId: string | null, record: NewAuditRecord, signer: AuditSigner): Promise<AuditRecord> {
    this.enter('finalize');
    // Synchronous from here on: nothing interleaves, as under the head lock of the SQL stores.
    const intent = intentId === null ? null : intentId.toLowerCase();
    let row = record;
    const existing = this.records.find((r) => r.id === record.id.toLowerCase());
    if (existing) {
      // A retry of a write that did land: stored once.
      if (!(intent !== null && sweptAsUnknown(existing) && record.http_status !== null)) return structuredClone(existing);
      // The sweeper got there first: the real outcome amends its `unknown` record, once.
      const amendment = this.records.find((r) => r.amends === intent);
      if (amendment) return structuredClone(amendment);
      row = { ...record, id: randomUUID(), amends: intent };
    } else if (intent !== null) {
      this.intents.delete(intent);
    }
    return this.append(row, signer);
  }

  async finalizeStaleIntents(rule: { olderThanMs: number }, signer: AuditSigner): Promise<AuditRecord[]> {
    this.enter('finalizeStaleIntents');
    const now = this.now();
    const stale = (entry: StoredIntent) => {
      const lease = this.leases.get(entry.intent.instance_id);
      return entry.committedAt < now - Math.round(rule.olderThanMs) || lease === undefined || lease <= now;
    };
    const written: AuditRecord[] = [];
    const due = [...this.intents.values()].filter(stale).sort((a, b) => a.committedAt - b.committedAt);
    for (const { intent } of due) {
      this.intents.delete(intent.id);
      // An intent whose insert arrived after its attempt's final record is spent.
      if (this.records.some((r) => r.id === intent.id)) continue;
      written.push(this.append(unknownRecord(intent), signer));
    }
    return written;
  }

  async renewLease(instanceId: string, ttlMs: number): Promise<void> {
    this.enter('renewLease');
    const now = this.now();
    this.leases.set(instanceId, now + Math.round(ttlMs));
    for (const [id, expiresAt] of this.leases) if (expiresAt < now - LEASE_LITTER_MS) this.leases.delete(id);
  }

  async dropLease(instanceId: string): Promise<void> {
    this.enter('dropLease');
    this.leases.delete(instanceId);
  }

  async lockProject(projectId: string, waitMs: number): Promise<ProjectLock> {
    this.enter('lockProject');
    const turn = await this.queues.acquire(projectId, waitMs);
    const controller = new AbortController();
    const held = this.heldLocks.get(projectId) ?? new Set<AbortController>();
    this.heldLocks.set(projectId, held.add(controller));
    let released = false;
    return {
      lost: controller.signal,
      release: async () => {
        if (released) return;
        released = true;
        held.delete(controller);
        if (held.size === 0) this.heldLocks.delete(projectId);
        turn.leave();
      },
    };
  }

  async query(query: AuditQuery): Promise<AuditPage> {
    this.enter('query');
    const limit = Math.min(Math.max(Math.trunc(query.limit) || 1, 1), MAX_QUERY_LIMIT);
    const before = query.cursor === undefined ? undefined : Number(decodeAuditCursor(query.cursor));
    const allowed = query.projectIds;
    if (allowed !== '*' && (allowed.length === 0 || (query.projectId !== undefined && !allowed.includes(query.projectId)))) {
      return { items: [], next_cursor: null };
    }
    const matches = (r: AuditRecord) =>
      (query.projectId !== undefined ? r.project_id === query.projectId : allowed === '*' || allowed.includes(r.project_id)) &&
      (query.actor === undefined || r.actor_subject === query.actor) &&
      (query.outcome === undefined || r.outcome === query.outcome) &&
      (!query.from || Date.parse(r.recorded_at) >= query.from.getTime()) &&
      (!query.to || Date.parse(r.recorded_at) < query.to.getTime()) &&
      (before === undefined || r.seq < before);
    const rows = this.records
      .filter(matches)
      .sort((a, b) => b.seq - a.seq)
      .slice(0, limit + 1);
    const items = structuredClone(rows.slice(0, limit));
    const last = items[items.length - 1];
    return { items, next_cursor: rows.length > limit ? encodeAuditCursor(last.seq) : null };
  }

  async *readChain(batchSize = 500): AsyncIterable<AuditRecord> {
    this.enter('readChain');
    let after = 0;
    for (;;) {
      const batch = this.records.filter((r) => r.seq > after).slice(0, batchSize);
      for (const record of batch) yield structuredClone(record);
      if (batch.length < batchSize) return;
      after = batch[batch.length - 1].seq;
    }
  }

  async readHead(): Promise<{ seq: number; hash: string }> {
    this.enter('readHead');
    return { ...this.head };
  }

  async intentBacklog(): Promise<{ pending: number; oldestAgeMs: number | null }> {
    this.enter('intentBacklog');
    const committed = [...this.intents.values()].map((i) => i.committedAt);
    return { pending: committed.length, oldestAgeMs: committed.length ? this.now() - Math.min(...committed) : null };
  }

  /** Every call starts here: closed, down, or a scripted fault throws. */
  private enter(operation: AuditStoreOperation): void {
    if (this.closed) throw new Error('The audit store is closed.');
    if (this.down) throw this.down;
    const index = this.faults.findIndex((f) => f.operation === operation);
    if (index < 0) return;
    const fault = this.faults[index];
    if (--fault.times <= 0) this.faults.splice(index, 1);
    throw fault.error;
  }

  private append(record: NewAuditRecord, signer: AuditSigner): AuditRecord {
    const body = recordBody(record, new Date(this.now()));
    const hash = chainHash(this.head.hash, body);
    const stored: AuditRecord = { ...body, seq: this.head.seq + 1, prev_hash: this.head.hash, hash, signature: signer.sign(hash) };
    this.records.push(stored);
    this.head = { seq: stored.seq, hash };
    return structuredClone(stored);
  }
}

function unknownRecord(intent: AuditIntent): NewAuditRecord {
  const { instance_id: _instance, ...attempt } = intent;
  return { ...attempt, ...UNKNOWN_OUTCOME };
}

function sweptAsUnknown(record: AuditRecord): boolean {
  return record.outcome === 'unknown' && record.http_status === null;
}
