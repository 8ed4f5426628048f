import { AuthDeniedError } from '../auth/auth.errors';
import { BffError } from '../common/bff-error';
import { validationFailed } from '../common/validation';
import { SmnAuthFailedError, SmnCircuitOpenError, SmnRejectedError, SmnThrottledError, SmnTimeoutError, SmnUnavailableError } from '../smn/smn.errors';
import { outcomeOf } from './attempt-outcome';
import { auditUnavailable, ProjectBusyError } from './audit-errors';
import { AUDIT_OUTCOMES, AuditOutcome } from './audit.types';

const SMN_ID = 'smn-request-id';
const rejected = (status: number) => new SmnRejectedError({ status, code: 'SMN.0141', request_id: SMN_ID }, 'no topic');
const unknownAfter = (error: BffError) =>
  new BffError(error.status, error.code, error.message, { upstream: error.upstream, headers: error.headers, cause: error, outcomeUnknown: true });

type Row = [name: string, status: number, error: unknown, forwarded: boolean, outcome: AuditOutcome];

/**
 * Every way an attempt ends: the status the caller received, what ended it, and whether the change had been
 * sent upstream.
 */
const TABLE: Row[] = [
  ['SMN applied it', 200, undefined, true, 'succeeded'],
  ['a 2xx/3xx never fails, whatever the error says', 204, rejected(400), false, 'succeeded'],

  ['SMN refused the change (400)', 400, rejected(400), true, 'rejected'],
  ['SMN refused the change (404)', 404, rejected(404), true, 'rejected'],
  ['SMN refused the read before (400)', 400, rejected(400), false, 'rejected'],
  ['If-Match failed', 412, new BffError(412, 'BFF.PRECONDITION_FAILED', 'changed'), false, 'rejected'],
  ['412 without the error at hand', 412, undefined, false, 'rejected'],

  ['401 by the guard', 401, new AuthDeniedError(401, 'BFF.UNAUTHENTICATED', 'who?', 'missing_credentials'), false, 'denied'],
  ['401 seen only as a status (refused before the pipeline)', 401, undefined, false, 'denied'],
  ['403 scope or project', 403, new AuthDeniedError(403, 'BFF.FORBIDDEN', 'no', 'missing_scope'), false, 'denied'],
  ['403 seen only as a status', 403, undefined, false, 'denied'],

  ['validation failed', 400, validationFailed([{ field: 'callback', message: 'x' }]), false, 'invalid'],
  ['project not served', 404, new BffError(404, 'BFF.PROJECT_NOT_FOUND', 'no'), false, 'invalid'],
  ['body too large (status only)', 413, undefined, false, 'invalid'],
  ['not JSON (status only)', 415, undefined, false, 'invalid'],
  ['rate limited (never recorded, but classified)', 429, undefined, false, 'invalid'],

  ['SMN unreachable before forwarding', 502, new SmnUnavailableError('down', undefined, true), false, 'failed'],
  ['SMN provably not reached by the PUT (ECONNREFUSED)', 502, new SmnUnavailableError('down', undefined, true), true, 'failed'],
  ['SMN refused our credentials', 502, new SmnAuthFailedError({ status: 403, request_id: SMN_ID }), true, 'failed'],
  ['SMN throttled (a well-formed refusal)', 503, new SmnThrottledError({ status: 429, request_id: SMN_ID }, 1_000), true, 'failed'],
  ['circuit open', 503, new SmnCircuitOpenError(10), true, 'failed'],
  ['project busy', 503, new ProjectBusyError(5), false, 'failed'],
  ['audit store unavailable', 503, auditUnavailable(new Error('down')), false, 'failed'],
  ['a timeout before forwarding', 504, new SmnTimeoutError(), false, 'failed'],
  ['an unexpected error before forwarding', 500, new TypeError('bug'), false, 'failed'],
  ['a 5xx marked unknown but never forwarded', 502, unknownAfter(new SmnUnavailableError('x')), false, 'failed'],

  ['a timeout after forwarding', 504, unknownAfter(new SmnTimeoutError()), true, 'unknown'],
  ['a 500 to the PUT', 502, unknownAfter(new SmnUnavailableError('500', { status: 500, request_id: SMN_ID })), true, 'unknown'],
  ['an unreadable 2xx', 502, unknownAfter(new SmnUnavailableError('unreadable', { status: 200 })), true, 'unknown'],
  ['the lock lost while forwarding', 503, new BffError(503, 'BFF.AUDIT_UNAVAILABLE', 'lost', { outcomeUnknown: true }), true, 'unknown'],
  ['an unexpected error after forwarding', 500, new TypeError('bug'), true, 'unknown'],
  ['a status without its error after forwarding', 502, undefined, true, 'unknown'],
  ['even a 4xx marked unknown after forwarding (an earlier attempt may have applied it)', 400, unknownAfter(rejected(400)), true, 'unknown'],
  ['even a 401 without its error after forwarding', 401, undefined, true, 'unknown'],
];

const ROWS = TABLE.map(([name, status, error, forwarded, outcome]) => ({
  name,
  status,
  error,
  forwarded,
  outcome,
  sent: forwarded ? 'forwarded' : 'not forwarded',
}));

describe('outcomeOf', () => {
  it.each(ROWS)('$name: $status, $sent → $outcome', ({ status, error, forwarded, outcome }) => {
    expect(outcomeOf(status, error, forwarded).outcome).toBe(outcome);
  });

  it('covers every outcome', () => {
    expect(new Set(TABLE.map((row) => row[4]))).toEqual(new Set(AUDIT_OUTCOMES));
  });

  it('keeps the status the caller received, in every row', () => {
    for (const { status, error, forwarded } of ROWS) expect(outcomeOf(status, error, forwarded).httpStatus).toBe(status);
  });

  it("takes the code and SMN's status and request id from a BffError", () => {
    expect(outcomeOf(400, rejected(400), true)).toEqual({
      outcome: 'rejected',
      httpStatus: 400,
      errorCode: 'SMN.0141',
      upstreamStatus: 400,
      upstreamRequestId: SMN_ID,
    });
    expect(outcomeOf(503, new SmnThrottledError({ status: 429, request_id: SMN_ID }, 1_000), true)).toEqual({
      outcome: 'failed',
      httpStatus: 503,
      errorCode: 'BFF.UPSTREAM_THROTTLED',
      upstreamStatus: 429,
      upstreamRequestId: SMN_ID,
    });
  });

  it('leaves the codes out when the error is not a BffError or is not at hand', () => {
    expect(outcomeOf(200, undefined, true)).toEqual({
      outcome: 'succeeded',
      httpStatus: 200,
      errorCode: undefined,
      upstreamStatus: undefined,
      upstreamRequestId: undefined,
    });
    expect(outcomeOf(500, new TypeError('bug'), false)).toEqual({
      outcome: 'failed',
      httpStatus: 500,
      errorCode: undefined,
      upstreamStatus: undefined,
      upstreamRequestId: undefined,
    });
    expect(outcomeOf(412, { code: 'BFF.PRECONDITION_FAILED', upstream: { status: 1 } }, false)).toMatchObject({
      errorCode: undefined,
      upstreamStatus: undefined,
    });
  });
});
