import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Accept a caller's id only when it is short and plain, so it is safe in logs, headers and upstream calls. */
const SANE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const REQUEST_ID_HEADER = 'x-request-id';

/** Fastify `genReqId`: the caller's `X-Request-Id` when sane, else a new 32-hex id (SMN's own format). */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  if (typeof given === 'string' && SANE_REQUEST_ID.test(given)) return given;
  return newRequestId();
}

export function newRequestId(): string {
  return randomBytes(16).toString('hex');
}
