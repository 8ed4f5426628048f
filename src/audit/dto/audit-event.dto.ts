import { ApiProperty } from '@nestjs/swagger';
import { AUDIT_ACTOR_KINDS, AUDIT_OUTCOMES, type AuditActorKind, type AuditOutcome } from '../audit.types';

/** Any JSON value, null included (OpenAPI 3.0 states `nullable` beside a `type`): what a body that need not be valid can be. */
const JSON_VALUE = [
  { type: 'object', additionalProperties: true, nullable: true },
  { type: 'array', items: {} },
  { type: 'string' },
  { type: 'number' },
  { type: 'boolean' },
];

/** One callback of the configuration before a change, as SMN listed it. */
export class RecordedCallbackDto {
  /** @example sms_reply_event */
  event_type!: string;
  /** @example urn:smn:cn-north-4:f96188c7ccaf4ffba0c9aa149ab2bd57:test_reply */
  topic_urn!: string;
}

/** One change attempt, as recorded and signed. */
export class AuditEventDto {
  /** Position in the hash chain. */
  @ApiProperty({ type: 'integer', minimum: 1 })
  seq!: number;
  @ApiProperty({ format: 'uuid' })
  id!: string;
  /** The BFF's correlation id of the request (`X-Request-Id`). */
  request_id!: string;
  @ApiProperty({ format: 'date-time' })
  started_at!: string;
  @ApiProperty({ format: 'date-time' })
  recorded_at!: string;
  /** `jwt`, `api-key`, `development` or `anonymous`. */
  @ApiProperty({ enum: AUDIT_ACTOR_KINDS })
  actor_kind!: AuditActorKind;
  /** JWT subject or API-key name; never a secret. */
  actor_subject!: string | null;
  actor_client_id!: string | null;
  source_ip!: string;
  user_agent!: string | null;
  project_id!: string;
  /**
   * The request body as received: any JSON value, not necessarily a valid request (invalid attempts are
   * recorded too); null when there was none or it could not be parsed.
   */
  @ApiProperty({ anyOf: JSON_VALUE })
  requested!: unknown;
  /** The configuration before the change (read under the project lock); null when it was not read. */
  @ApiProperty({ type: [RecordedCallbackDto], nullable: true })
  before!: unknown;
  /** `succeeded`, `rejected` (SMN 4xx or 412), `failed`, `denied` (401/403), `invalid` (400/404/413/415) or `unknown`. */
  @ApiProperty({ enum: AUDIT_OUTCOMES })
  outcome!: AuditOutcome;
  /** The status the caller received; null on a record swept as `unknown`. */
  @ApiProperty({ type: 'integer', nullable: true })
  http_status!: number | null;
  error_code!: string | null;
  @ApiProperty({ type: 'integer', nullable: true })
  upstream_status!: number | null;
  upstream_request_id!: string | null;
  @ApiProperty({ type: 'integer', nullable: true })
  duration_ms!: number | null;
  /** The `unknown` record (its `id`) this one amends: set when the real outcome arrived after its intent was swept. */
  @ApiProperty({ format: 'uuid', nullable: true })
  amends!: string | null;
  /** SHA-256 of the previous record's hash and this record's canonical JSON. */
  prev_hash!: string;
  hash!: string;
  /** Ed25519 signature of `hash` (base64), verifiable with the service's public key. */
  signature!: string;
}

export class AuditEventPageDto {
  /** Newest first. */
  items!: AuditEventDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor!: string | null;
}

export class BrokenRecordDto {
  @ApiProperty({ type: 'integer' })
  seq!: number;
  id!: string;
  /** What does not hold: a broken link, an altered record, or a signature that does not verify. */
  reason!: string;
}

/** The result of recomputing the hash chain and checking every signature. */
export class AuditChainVerificationDto {
  intact!: boolean;
  /** Records that checked out (before the first broken one). */
  @ApiProperty({ type: 'integer', minimum: 0 })
  records!: number;
  /** The first record that does not hold, when the chain is broken. */
  first_broken?: BrokenRecordDto;
}
