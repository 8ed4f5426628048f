import { createHash, KeyObject, sign, verify } from 'node:crypto';
import { AuditAttemptColumns, AuditRecordBody, JsonValue, NewAuditRecord } from './audit.types';

/** `prev_hash` of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** The hashed fields, listed so that nothing else (seq, hash, signature, stray props) slips in. */
const BODY_FIELDS = [
  'id',
  'request_id',
  'started_at',
  'recorded_at',
  'actor_kind',
  'actor_subject',
  'actor_client_id',
  'source_ip',
  'user_agent',
  'project_id',
  'requested',
  'before',
  'outcome',
  'http_status',
  'error_code',
  'upstream_status',
  'upstream_request_id',
  'duration_ms',
  'amends',
] as const satisfies readonly (keyof AuditRecordBody)[];

/** Compile-time proof that every field of the record body is hashed (and so signed): a new column fails here. */
type Unhashed = Exclude<keyof AuditRecordBody, (typeof BODY_FIELDS)[number]>;
const everyFieldIsHashed: [Unhashed] extends [never] ? true : { unhashed: Unhashed } = true;
void everyFieldIsHashed;

/** Fields added after the first release are hashed only when set, so records written before keep their hashes. */
const LATER_FIELDS: ReadonlySet<string> = new Set<(typeof BODY_FIELDS)[number]>(['amends']);

/** Signs chain hashes. Implemented by `AuditSigningKey`; the store never sees the private key. */
export interface AuditSigner {
  sign(hash: string): string;
}

/**
 * Turns any value into the JSON that a `jsonb` column will give back, so that the hash computed
 * before the insert equals the hash recomputed from the stored row.
 *
 * `jsonb` rejects `\u0000` and lone surrogates; JSON.stringify writes exactly those as `\uXXXX`
 * escapes, so they are replaced by U+FFFD in the text. An odd run of backslashes before `u` is an
 * escape; an even run is an escaped backslash followed by a literal "u".
 */
export function toJsonValue(value: unknown): JsonValue {
  if (typeof value === 'object' && value !== null && produced.has(value)) return value as JsonValue;
  const text = JSON.stringify(value);
  if (text === undefined) return null;
  const clean = text.replace(/(\\+)u(0000|d[89a-f][0-9a-f]{2})/gi, (match, slashes: string) => (slashes.length % 2 === 1 ? `${slashes}ufffd` : match));
  const json = JSON.parse(clean) as JsonValue;
  if (typeof json === 'object' && json !== null) produced.add(json);
  return json;
}

/**
 * Objects toJsonValue made: already in jsonb's form, so the intent, the record and the store normalising the
 * same value again (a PUT's body is normalised four times on its way) cost a lookup, not a stringify and parse.
 * They are fresh objects nobody else holds, and the audit code never mutates them.
 */
const produced = new WeakSet<object>();

/**
 * Text as a PostgreSQL text column returns it: NUL cannot be stored and a lone surrogate would be
 * encoded as U+FFFD, so both become U+FFFD before hashing.
 */
export function toSafeText(text: string): string {
  // eslint-disable-next-line no-control-regex -- NUL is exactly what has to go
  return text.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** JSON with object keys sorted (by UTF-16 code unit) and no whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item: unknown) => canonicalJson(item ?? null)).join(',')}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object)
    .filter((key) => object[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`).join(',')}}`;
}

/** The canonical text of a record: its hashed fields only. */
export function canonicalRecord(record: AuditRecordBody): string {
  const body: Record<string, unknown> = {};
  for (const field of BODY_FIELDS) {
    const value = record[field];
    if (!(LATER_FIELDS.has(field) && value == null)) body[field] = value;
  }
  return canonicalJson(body);
}

/** `sha256(prev_hash + canonical(record))`, hex. */
export function chainHash(prevHash: string, record: AuditRecordBody): string {
  return createHash('sha256').update(prevHash).update(canonicalRecord(record)).digest('hex');
}

/** Ed25519 signature of the hash's hex text, base64. */
export function signHash(privateKey: KeyObject, hash: string): string {
  return sign(null, Buffer.from(hash, 'utf8'), privateKey).toString('base64');
}

export function verifyHashSignature(publicKey: KeyObject, hash: string, signature: string): boolean {
  try {
    return verify(null, Buffer.from(hash, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Brings the attempt fields into the exact form the database returns them in (lower-case uuid,
 * millisecond ISO time, jsonb-safe JSON, null for absent), so the hash survives the round trip.
 */
export function normaliseAttempt(attempt: AuditAttemptColumns): AuditAttemptColumns {
  return {
    id: attempt.id.toLowerCase(),
    request_id: toSafeText(attempt.request_id),
    started_at: new Date(attempt.started_at).toISOString(),
    actor_kind: attempt.actor_kind,
    actor_subject: toSafeTextOrNull(attempt.actor_subject),
    actor_client_id: toSafeTextOrNull(attempt.actor_client_id),
    source_ip: toSafeText(attempt.source_ip),
    user_agent: toSafeTextOrNull(attempt.user_agent),
    project_id: toSafeText(attempt.project_id),
    requested: toJsonValue(attempt.requested),
    before: attempt.before === undefined ? null : toJsonValue(attempt.before),
  };
}

/** Nullable text as a text column returns it. */
export const toSafeTextOrNull = (value: string | null | undefined): string | null => (value == null ? null : toSafeText(value));

/** The hashed body of a final record in its stored form, recorded at `recordedAt`. */
export function recordBody(record: NewAuditRecord, recordedAt: Date): AuditRecordBody {
  return {
    ...normaliseAttempt(record),
    outcome: record.outcome,
    http_status: record.http_status ?? null,
    error_code: toSafeTextOrNull(record.error_code),
    upstream_status: record.upstream_status ?? null,
    upstream_request_id: toSafeTextOrNull(record.upstream_request_id),
    duration_ms: record.duration_ms ?? null,
    amends: record.amends ?? null,
    recorded_at: recordedAt.toISOString(),
  };
}
