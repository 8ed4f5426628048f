import { AuditSigner } from './audit-chain';
import { AuditIntent, AuditPage, AuditQuery, AuditRecord, NewAuditRecord } from './audit.types';

/**
 * The audit store port (and DI token). Two implementations share one Kysely code path:
 * `PgliteAuditStore` (embedded default) and `PostgresAuditStore` (`DATABASE_URL`).
 */
export abstract class AuditStore {
  /** Creates or upgrades the schema; safe to run again and from several instances at once. */
  abstract migrate(): Promise<void>;

  /** Throws if the store cannot answer (readiness). */
  abstract ping(): Promise<void>;

  /** Ends connections and releases locks. Idempotent; every later call throws. */
  abstract close(): Promise<void>;

  /** Commits the write-ahead intent; it is durable when the promise resolves. */
  abstract writeIntent(intent: AuditIntent): Promise<void>;

  /**
   * In one transaction: takes the chain lock, reads the head, hashes and signs the record, inserts
   * it, deletes the intent (if any) and moves the head. Returns the stored record.
   */
  abstract finalize(intentId: string | null, record: NewAuditRecord, signer: AuditSigner): Promise<AuditRecord>;

  /**
   * Turns every intent that started before `olderThan` into an `unknown` record (each chained in
   * its own transaction); younger intents are left alone. Returns the records written.
   */
  abstract finalizeStaleIntents(olderThan: Date, signer: AuditSigner): Promise<AuditRecord[]>;

  /**
   * Runs `fn` while holding the per-project lock: no other holder of the same project's lock (in
   * this process or, for PostgreSQL, any instance) runs at the same time.
   */
  abstract withProjectLock<T>(projectId: string, fn: () => Promise<T>): Promise<T>;

  /** Newest first, filtered, cursor-paged. */
  abstract query(query: AuditQuery): Promise<AuditPage>;

  /** Every record in chain order, read in batches (for verification). */
  abstract readChain(batchSize?: number): AsyncIterable<AuditRecord>;

  /** The chain head: the last appended record's seq and hash (seq 0 and the genesis hash when empty). */
  abstract readHead(): Promise<{ seq: number; hash: string }>;
}
