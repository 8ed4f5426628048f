import { ColumnType, Generated } from 'kysely';

export const AUDIT_ACTOR_KINDS = ['jwt', 'api-key', 'access-key', 'development', 'anonymous'] as const;
export type AuditActorKind = (typeof AUDIT_ACTOR_KINDS)[number];

export const AUDIT_OUTCOMES = ['succeeded', 'rejected', 'failed', 'denied', 'invalid', 'unknown'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** A JSON value as it comes back from a `jsonb` column. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Written as ISO text, read back as a Date by pg's type parser. */
type Timestamp = ColumnType<Date, string, string>;
/** Written as JSON text (pg would turn a JS array into a Postgres array), read back parsed. */
type Json = ColumnType<JsonValue, string, string>;
type NullableJson = ColumnType<JsonValue | null, string | null, string | null>;

interface AttemptColumns {
  id: string;
  request_id: string;
  started_at: Timestamp;
  actor_kind: AuditActorKind;
  actor_subject: string | null;
  actor_client_id: string | null;
  source_ip: string;
  user_agent: string | null;
  project_id: string;
  requested: Json;
  before: NullableJson;
}

export interface AuditRecordsTable extends AttemptColumns {
  /** int8 comes back as a string from pg. */
  seq: Generated<string>;
  recorded_at: Timestamp;
  outcome: AuditOutcome;
  http_status: number | null;
  error_code: string | null;
  upstream_status: number | null;
  upstream_request_id: string | null;
  duration_ms: number | null;
  /** The `unknown` record this one amends: set when the real outcome arrived after its intent was swept. */
  amends: string | null;
  prev_hash: string;
  hash: string;
  signature: string;
}

export interface AuditIntentsTable extends AttemptColumns {
  instance_id: string;
  /** The database's clock at commit: staleness is counted from here, never from a client clock. */
  committed_at: ColumnType<Date, never, never>;
}

/** One row per live instance; an intent whose instance has no unexpired lease belongs to nobody alive. */
export interface AuditInstanceLeasesTable {
  instance_id: string;
  expires_at: ColumnType<Date, never, never>;
}

export interface AuditChainHeadTable {
  id: number;
  seq: string;
  hash: string;
}

export interface AuditDatabase {
  audit_records: AuditRecordsTable;
  audit_intents: AuditIntentsTable;
  audit_chain_head: AuditChainHeadTable;
  audit_instance_leases: AuditInstanceLeasesTable;
}
