import { AuditSigner } from './audit-chain';
import { AuditIntent, AuditPage, AuditQuery, AuditRecord, NewAuditRecord } from './audit.types';
import type { ProjectLock } from './project-locks';

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
   * In one transaction (shared with the other records queued meanwhile, in call order): takes the chain lock,
   * reads the head, claims the intent (if any), hashes and signs the record, inserts it and moves the head.
   * A record whose id is stored already is not stored again: the stored one is returned. When the intent was
   * already swept as `unknown`, the record gets an id of its own and `amends` names the swept one. Returns
   * the stored record.
   */
  abstract finalize(intentId: string | null, record: NewAuditRecord, signer: AuditSigner): Promise<AuditRecord>;

  /**
   * Turns into `unknown` records (chained in transactions of up to 100) the intents that nobody alive can
   * still finish: those whose instance holds no unexpired lease, and those committed more than
   * `olderThanMs` ago by the database's clock. Returns the records written.
   */
  abstract finalizeStaleIntents(rule: { olderThanMs: number }, signer: AuditSigner): Promise<AuditRecord[]>;

  /** Extends this instance's lease to `ttlMs` from now (database clock). */
  abstract renewLease(instanceId: string, ttlMs: number): Promise<void>;

  /** Gives the lease up (clean shutdown, after every intent of the instance was finalised). */
  abstract dropLease(instanceId: string): Promise<void>;

  /**
   * Takes the per-project lock: no other holder of the same project's lock (in this process or, for
   * PostgreSQL, any instance) holds it at the same time. Waits in this process, in arrival order, at most
   * `waitMs`; then throws ProjectBusyError.
   */
  abstract lockProject(projectId: string, waitMs: number): Promise<ProjectLock>;

  /** Newest first, filtered, cursor-paged. */
  abstract query(query: AuditQuery): Promise<AuditPage>;

  /** Every record in chain order, read in batches (for verification). */
  abstract readChain(batchSize?: number): AsyncIterable<AuditRecord>;

  /** The chain head: the last appended record's seq and hash (seq 0 and the genesis hash when empty). */
  abstract readHead(): Promise<{ seq: number; hash: string }>;

  /** Intents not yet finalised, and the age of the oldest by the store's clock (null when none); for metrics. */
  abstract intentBacklog(): Promise<{ pending: number; oldestAgeMs: number | null }>;
}
