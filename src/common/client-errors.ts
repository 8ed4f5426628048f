import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode } from './error-codes';
import type { ErrorEnvelope } from './error-envelope';
import { newRequestId, REQUEST_ID_HEADER, requestIdFor } from './request-id';

/** Node's own refusals of a request it could not read, by its error code. */
const CLIENT_ERRORS: Record<string, { status: number; reason: string; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    code: ErrorCode.HeadersTooLarge,
    message: 'The request headers exceed 32 KiB.',
  },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', code: ErrorCode.RequestTimeout, message: 'The request did not arrive in time.' },
};
const MALFORMED = { status: 400, reason: 'Bad Request', code: ErrorCode.ValidationFailed, message: 'The request is not valid HTTP/1.1.' };

/**
 * Fastify's `clientErrorHandler`: requests Node could not parse (malformed framing, oversized headers, a
 * request that timed out) are answered in the one envelope with a request id, like every other answer,
 * never with the framework's own body — and nothing of the request is reflected back.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // An answer already under way (a request timed out while its response was being written) cannot be
  // followed by another one on the same connection: closing it is all that is left.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const known = (error.code && CLIENT_ERRORS[error.code]) || MALFORMED;
  const requestId = newRequestId();
  const body = JSON.stringify({ request_id: requestId, code: known.code, message: known.message } satisfies ErrorEnvelope);
  socket.end(
    `HTTP/1.1 ${known.status} ${known.reason}\r\n` +
      `content-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `${REQUEST_ID_HEADER}: ${requestId}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}

/**
 * Node's `checkExpectation`: a request whose `Expect` is not `100-continue` is refused with 417 in the
 * envelope (Node's own answer has an empty body), without the request being handled, and the connection is
 * closed since the body the caller may still send would be read as the next request.
 */
export function answerUnmetExpectation(request: IncomingMessage, response: ServerResponse): void {
  const requestId = requestIdFor(request);
  const body = JSON.stringify({
    request_id: requestId,
    code: ErrorCode.ExpectationFailed,
    message: 'Only the expectation 100-continue is supported.',
  } satisfies ErrorEnvelope);
  response.shouldKeepAlive = false;
  response.writeHead(417, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [REQUEST_ID_HEADER]: requestId,
    connection: 'close',
  });
  response.end(body);
}

/**
 * Node's `connect` (a CONNECT request, as a forward proxy would get): no route serves that method, so 404 in
 * the envelope, as for any other unserved method; without this listener Node closes the connection unanswered.
 */
export function answerConnectRequest(request: IncomingMessage, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const requestId = requestIdFor(request);
  const body = JSON.stringify({ request_id: requestId, code: ErrorCode.NotFound, message: 'No such route.' } satisfies ErrorEnvelope);
  socket.end(
    `HTTP/1.1 404 Not Found\r\n` +
      `content-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `${REQUEST_ID_HEADER}: ${requestId}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}
