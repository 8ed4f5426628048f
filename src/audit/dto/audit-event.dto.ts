import type { AuditActorKind, AuditOutcome } from '../audit.types';

/** One change attempt, as recorded and signed. */
export class AuditEventDto {
  /** Position in the hash chain. */
  seq!: number;
  id!: string;
  /** The BFF's correlation id of the request (`X-Request-Id`). */
  request_id!: string;
  started_at!: string;
  recorded_at!: string;
  /** `jwt`, `api-key`, `development` or `anonymous`. */
  actor_kind!: AuditActorKind;
  /** JWT subject or API-key name; never a secret. */
  actor_subject!: string | null;
  actor_client_id!: string | null;
  source_ip!: string;
  user_agent!: string | null;
  project_id!: string;
  /** The request body as received. */
  requested!: unknown;
  /** The configuration before the change (read under the project lock), when it was read. */
  before!: unknown;
  /** `succeeded`, `rejected` (SMN 4xx or 412), `failed`, `denied` (401/403), `invalid` (400/404/413/415) or `unknown`. */
  outcome!: AuditOutcome;
  http_status!: number | null;
  error_code!: string | null;
  upstream_status!: number | null;
  upstream_request_id!: string | null;
  duration_ms!: number | null;
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
  seq!: number;
  id!: string;
  /** What does not hold: a broken link, an altered record, or a signature that does not verify. */
  reason!: string;
}

/** The result of recomputing the hash chain and checking every signature. */
export class AuditChainVerificationDto {
  intact!: boolean;
  /** Records that checked out (before the first broken one). */
  records!: number;
  /** The first record that does not hold, when the chain is broken. */
  first_broken?: BrokenRecordDto;
}
