import type { AuditOutcomeDetails } from '../audit/audit.types';
import { BffError } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';
import { SmnTimeoutError } from '../smn/smn.errors';

/**
 * How a failed change attempt is recorded (design §6 outcomes). `changeSent`: the failure came from the
 * UpdateSmsEvent call itself, so a timeout leaves it unknown whether SMN applied the change.
 */
export function outcomeOfError(error: unknown, changeSent = false): AuditOutcomeDetails {
  if (!(error instanceof BffError)) return { outcome: 'failed', httpStatus: 500, errorCode: ErrorCode.Internal };
  const details = {
    httpStatus: error.status,
    errorCode: error.code,
    upstreamStatus: error.upstream?.status,
    upstreamRequestId: error.upstream?.request_id,
  };
  // SMN may have applied a change whose answer never came: say so rather than guess.
  if (changeSent && error instanceof SmnTimeoutError) return { outcome: 'unknown', ...details };
  return { outcome: outcomeOfStatus(error.status, error.upstream !== undefined), ...details };
}

/** For attempts refused before the handler ran, where only the status is known. */
export function outcomeOfStatus(status: number, fromUpstream = false): AuditOutcomeDetails['outcome'] {
  if (status < 400) return 'succeeded';
  if (status === 401 || status === 403) return 'denied';
  if (status === 412 || (fromUpstream && status < 500)) return 'rejected';
  if (status < 500) return 'invalid';
  return 'failed';
}
