import type { NestFastifyApplication } from '@nestjs/platform-fastify';

type CorsOptions = Exclude<Parameters<NestFastifyApplication['enableCors']>[0], undefined>;

/** Request headers a browser frontend may send: the credentials, the body's type, the precondition, tracing. */
const ALLOWED_HEADERS = ['Authorization', 'X-Api-Key', 'Content-Type', 'If-Match', 'X-Request-Id', 'traceparent', 'tracestate'];
/** Answer headers a page may read: the ETag it sends back as If-Match, the request id, and why to wait or retry. */
const EXPOSED_HEADERS = ['ETag', 'X-Request-Id', 'Retry-After', 'WWW-Authenticate', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];

/**
 * CORS for browser frontends (README, CORS): exact origins from configuration, the two methods of the API,
 * an allow-list of request headers (never an echo of what a preflight asks for), the headers a page needs to
 * read, a cached preflight, and never credentials (callers send tokens or keys, not cookies).
 */
export function corsOptions(origins: readonly string[]): CorsOptions {
  const options = {
    origin: [...origins],
    methods: ['GET', 'PUT'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
    credentials: false,
  };
  // An OPTIONS that is no preflight (no Origin or no Access-Control-Request-Method) is passed on, and answered
  // 404 in the envelope as without CORS (http-setup.ts): the plugin's own answer would be a bare text/plain 400,
  // sent before any hook of ours runs.
  const notPreflight = { ...options, preflight: false };
  return {
    delegator: (request, callback) => {
      const preflight = request.method !== 'OPTIONS' || (request.headers.origin && request.headers['access-control-request-method']);
      callback(null, preflight ? options : notPreflight);
    },
  };
}
