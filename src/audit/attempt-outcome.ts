import { BffError } from '../common/bff-error';
import type { AuditOutcomeColumns, AuditOutcomeDetails } from './audit.types';

/** The outcome columns of an intent nobody can finish any more (swept): nobody knows what the upstream did. */
export const UNKNOWN_OUTCOME: Readonly<AuditOutcomeColumns> = {
  outcome: 'unknown',
  http_status: null,
  error_code: null,
  upstream_status: null,
  upstream_request_id: null,
  duration_ms: null,
  amends: null,
};

/**
 * How an attempt ended, decided in this one place for every path. `status` is what the caller received;
 * `error` is what ended the attempt, when known (it carries the upstream's status and request id);
 * `forwarded` says the change was sent upstream.
 *
 * After the change was sent, anything but a well-formed upstream answer — a timeout, a reset, an unreadable
 * body, a 5xx, an unexpected error — is `unknown`: the upstream may have applied it.
 */
export function outcomeOf(status: number, error: unknown, forwarded: boolean): AuditOutcomeDetails {
  const bff = error instanceof BffError ? error : undefined;
  const details = {
    httpStatus: status,
    errorCode: bff?.code,
    upstreamStatus: bff?.upstream?.status,
    upstreamRequestId: bff?.upstream?.request_id,
  };
  if (status < 400) return { outcome: 'succeeded', ...details };
  if (forwarded && (!bff || bff.outcomeUnknown)) return { outcome: 'unknown', ...details };
  if (status === 401 || status === 403) return { outcome: 'denied', ...details };
  // The change was refused by a rule: the caller's precondition, or the upstream's own validation.
  if (status === 412 || (bff?.upstream !== undefined && status < 500)) return { outcome: 'rejected', ...details };
  if (status < 500) return { outcome: 'invalid', ...details };
  return { outcome: 'failed', ...details };
}
