import type { NestFastifyApplication } from '@nestjs/platform-fastify';

type CorsOptions = Exclude<Parameters<NestFastifyApplication['enableCors']>[0], undefined>;

/** Request headers a browser frontend may send: the credentials, the body's type, the precondition, tracing. */
const ALLOWED_HEADERS = ['Authorization', 'X-Api-Key', 'Content-Type', 'If-Match', 'X-Request-Id', 'traceparent'];
/** Answer headers a page may read: the ETag it sends back as If-Match, the request id, and why to wait or retry. */
const EXPOSED_HEADERS = ['ETag', 'X-Request-Id', 'Retry-After', 'WWW-Authenticate', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];

/**
 * CORS for browser frontends (README, CORS): exact origins from configuration, the two methods of the API,
 * an allow-list of request headers (never an echo of what a preflight asks for), the headers a page needs to
 * read, a cached preflight, and never credentials (callers send tokens or keys, not cookies).
 */
export function corsOptions(origins: readonly string[]): CorsOptions {
  return {
    origin: [...origins],
    methods: ['GET', 'PUT'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
    credentials: false,
  };
}
