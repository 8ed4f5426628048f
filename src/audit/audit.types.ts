import type { Selectable } from 'kysely';
import type { AuditRecordsTable } from './audit-database';

/**
 * Audit record shapes.
 *
 * Stored records use snake_case because the same names are the database columns, the fields that
 * are hashed and signed, and the wire shape of `GET /audit/events`: one spelling everywhere means
 * no mapping step that could drift from what was signed. The table types are the source; the types
 * here are derived from them.
 *
 * Secrets never enter these types: callers pass the actor's identity (kind, subject, client id or
 * API-key name), never tokens, API keys, cookies or upstream signatures.
 */

import type { AuditOutcome } from './audit-database';

export { AUDIT_ACTOR_KINDS, AUDIT_OUTCOMES } from './audit-database';
export type { AuditActorKind, AuditOutcome, JsonValue } from './audit-database';

/** How an attempt ended, as the lifecycle owner decided it. */
export interface AuditOutcomeDetails {
  outcome: AuditOutcome;
  /** The status the caller received. */
  httpStatus: number;
  errorCode?: string;
  upstreamStatus?: number;
  upstreamRequestId?: string;
}

/** Times as ISO-8601 text with milliseconds, exactly as served and hashed (timestamptz keeps them losslessly). */
type AsText<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

/**
 * A stored, chained record: the `audit_records` row (audit-database.ts, the one source of the shape) with
 * times as text and `seq` as a JS number (2^53 records is out of reach).
 */
export type AuditRecord = Omit<AsText<Selectable<AuditRecordsTable>>, 'seq'> & { seq: number };

/** Everything that is hashed: the record without `seq`, `prev_hash`, `hash` and `signature`. */
export type AuditRecordBody = Omit<AuditRecord, 'seq' | 'prev_hash' | 'hash' | 'signature'>;

/** A final record as handed to the store, before it is chained (the store sets `recorded_at`). */
export type NewAuditRecord = Omit<AuditRecordBody, 'recorded_at'>;

/** The attempt columns shared by intents and records. */
export type AuditAttemptColumns = Omit<NewAuditRecord, keyof AuditOutcomeColumns>;
export type AuditOutcomeColumns = Pick<
  AuditRecordsTable,
  'outcome' | 'http_status' | 'error_code' | 'upstream_status' | 'upstream_request_id' | 'duration_ms' | 'amends'
>;

/** The write-ahead intent: committed before the upstream call, deleted when finalised. */
export interface AuditIntent extends AuditAttemptColumns {
  /** The instance that wrote it: its lease tells whether anybody alive may still finish it. */
  instance_id: string;
}

export interface AuditQuery {
  /** The projects the caller may see, or '*' for all. */
  projectIds: readonly string[] | '*';
  projectId?: string;
  /** Matches the actor's subject (JWT `sub` or API-key name). */
  actor?: string;
  outcome?: AuditOutcome;
  /** Inclusive lower bound on `recorded_at`. */
  from?: Date;
  /** Exclusive upper bound on `recorded_at`. */
  to?: Date;
  /** `next_cursor` of the previous page. */
  cursor?: string;
  /** 1..200. */
  limit: number;
}

export interface AuditPage {
  items: AuditRecord[];
  /** Null on the last page. */
  next_cursor: string | null;
}
