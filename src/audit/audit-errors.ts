import { BffError } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';

/** Another change to the same project held its lock past the bounded wait. Nothing was forwarded. */
export class ProjectBusyError extends BffError {
  constructor(retryAfterSec = 1) {
    super(503, ErrorCode.ProjectBusy, 'Another change to this project is in progress; retry shortly.', {
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSec))) },
    });
  }
}

/** The store could not take what the change needs (lock, intent): fail closed, nothing forwarded. */
export function auditUnavailable(cause?: unknown, message = 'The audit store cannot take the record; the change was not forwarded.'): BffError {
  return new BffError(503, ErrorCode.AuditUnavailable, message, { cause });
}

/** The store did not answer within the time left to the change. */
export class AuditTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`the audit store did not answer (${what}) within ${ms} ms`);
    this.name = 'AuditTimeoutError';
  }
}

/** Settles like `work`, or rejects with AuditTimeoutError after `ms`; the timer never outlives it. */
export async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AuditTimeoutError(what, Math.max(0, Math.round(ms)))), Math.max(0, ms));
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Not a statement's own failure: the connection is gone, stalled, or the server ended the session. */
export function isConnectionFault(error: unknown): boolean {
  const e = error as { severity?: string; code?: string };
  if (!e || typeof e !== 'object') return true;
  if (e.severity === undefined) return true; // thrown by the client (reset, read timeout, ended connection)
  return typeof e.code === 'string' && (e.code.startsWith('08') || e.code.startsWith('57P'));
}
