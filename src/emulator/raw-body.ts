import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Every body is kept as the raw bytes it arrived as, whatever its content type: the AK/SK signature
 * covers those exact bytes, and a malformed JSON body must get SMN's error shape, not Fastify's.
 * GET bodies too, which Fastify does not read by default: the official Node SDK sends `{}` with its
 * GETs (the IAM project lookup among them) and signs the hash of those two bytes.
 */
export function keepRawBodies(app: FastifyInstance, bodyLimit: number): void {
  app.addHttpMethod('GET', { hasBody: true, overrideExisting: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));
}

export function rawBody(request: FastifyRequest): Buffer | undefined {
  return Buffer.isBuffer(request.body) ? request.body : undefined;
}

/** The body parsed as JSON; undefined when it is empty or not JSON. */
export function jsonBody(request: FastifyRequest): unknown {
  const raw = rawBody(request);
  if (raw === undefined || raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}
