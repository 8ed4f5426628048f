/**
 * Audit record shapes (design §6).
 *
 * Stored records use snake_case because the same names are the database columns, the fields that
 * are hashed and signed, and the wire shape of `GET /audit/events`: one spelling everywhere means
 * no mapping step that could drift from what was signed.
 *
 * Secrets never enter these types: callers pass the actor's identity (kind, subject, client id or
 * API-key name), never tokens, API keys, cookies or upstream signatures.
 */

export const AUDIT_ACTOR_KINDS = ['jwt', 'api-key', 'development', 'anonymous'] as const;
export type AuditActorKind = (typeof AUDIT_ACTOR_KINDS)[number];

export const AUDIT_OUTCOMES = ['succeeded', 'rejected', 'failed', 'denied', 'invalid', 'unknown'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** A JSON value as it comes back from a `jsonb` column. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What the feature knows when a change attempt starts. */
export interface AuditAttempt {
  /** The BFF's correlation id (`X-Request-Id`). */
  requestId: string;
  startedAt: Date;
  actor: {
    kind: AuditActorKind;
    /** JWT `sub` or the API key's configured name; never the token or key itself. */
    subject?: string;
    clientId?: string;
  };
  sourceIp: string;
  userAgent?: string;
  projectId: string;
  /** The request body as received (already parsed JSON). */
  requested: unknown;
  /** The configuration before the change, when already read. */
  before?: unknown;
}

/** How the attempt ended. */
export interface AuditOutcomeDetails {
  outcome: AuditOutcome;
  /** The status the caller received. */
  httpStatus: number;
  errorCode?: string;
  upstreamStatus?: number;
  upstreamRequestId?: string;
  /** The configuration before the change, if it was read after `begin`. */
  before?: unknown;
}

/** Returned by `AuditService.begin`, handed back to `complete`. */
export interface AuditTicket {
  readonly intentId: string;
  readonly attempt: AuditAttempt;
}

/** The attempt columns shared by intents and records. */
export interface AuditAttemptColumns {
  id: string;
  request_id: string;
  /** ISO-8601 with milliseconds, exactly as stored (timestamptz keeps it losslessly). */
  started_at: string;
  actor_kind: AuditActorKind;
  actor_subject: string | null;
  actor_client_id: string | null;
  source_ip: string;
  user_agent: string | null;
  project_id: string;
  requested: JsonValue;
  before: JsonValue | null;
}

/** The write-ahead intent: committed before the upstream call, deleted when finalised. */
export interface AuditIntent extends AuditAttemptColumns {
  /** The instance that wrote it; for the record of who crashed. */
  instance_id: string;
}

/** A final record as handed to the store, before it is chained. */
export interface NewAuditRecord extends AuditAttemptColumns {
  outcome: AuditOutcome;
  /** Null only for `unknown`: nobody knows what the caller received. */
  http_status: number | null;
  error_code: string | null;
  upstream_status: number | null;
  upstream_request_id: string | null;
  /** Null only for `unknown`. */
  duration_ms: number | null;
}

/** Everything that is hashed: the record without `seq`, `prev_hash`, `hash` and `signature`. */
export interface AuditRecordBody extends NewAuditRecord {
  /** Set by the store under the chain lock. */
  recorded_at: string;
}

/** A stored, chained record. */
export interface AuditRecord extends AuditRecordBody {
  /** Chain order (a JS number: 2^53 records is out of reach). */
  seq: number;
  prev_hash: string;
  hash: string;
  /** Ed25519 signature of `hash`, base64. */
  signature: string;
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
