import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { BffError } from './bff-error';
import { ErrorCode } from './error-codes';
import { validationFailed } from './validation';

/** Deeper JSON than any body of this API needs; refused before parsing, so no recursion ever meets it. */
export const MAX_JSON_DEPTH = 32;

/**
 * The bytes of each parsed body, as received: an AK/SK signature covers them, not their parsed value
 * (src/auth/access-key.authenticator.ts). Held beside the request, not on it, and only here.
 */
const rawBodies = new WeakMap<FastifyRequest, Buffer>();

/** The exact bytes of the request's JSON body, once parsed; undefined for a request without one. */
export function rawBodyOf(request: FastifyRequest): Buffer | undefined {
  return rawBodies.get(request);
}

/**
 * A GET's body is never parsed (Fastify reads none), but an SDK may sign one: the Node core's client
 * signs `{}` with every GET (docs/upstream-smn.md §8.5). Its bytes are kept for the signature only,
 * within the body limit.
 */
export function keepBodylessBytes(fastify: FastifyInstance): void {
  fastify.addHook('preParsing', async (request, _reply, payload) => {
    const { headers } = request;
    const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
    if (request.method !== 'GET' || !hasBody) return payload;
    const limit = request.routeOptions.bodyLimit ?? 0;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of payload) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new BffError(413, ErrorCode.PayloadTooLarge, `The request body exceeds ${Math.floor(limit / 1024)} KiB.`);
      chunks.push(chunk as Buffer);
    }
    rawBodies.set(request, Buffer.concat(chunks));
    return payload;
  });
}

/**
 * Fastify's own JSON parser (body limit, prototype-poisoning refusal) behind a nesting limit: a body nested
 * thousands of levels deep is refused with 400 `BFF.VALIDATION_FAILED` while it is still text, instead of
 * overflowing the stack of the validators, the audit's canonical JSON or the database's jsonb.
 */
export function useJsonBodyParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const refusal = unsupportedEncoding(request.headers);
    if (refusal) {
      done(refusal, undefined);
      return;
    }
    const bytes = body as Buffer;
    const text = bytes.toString('utf8');
    if (nestingDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      done(validationFailed([{ field: 'body', message: `must not nest deeper than ${MAX_JSON_DEPTH} levels` }]), undefined);
      return;
    }
    rawBodies.set(request, bytes);
    parse(request, text, (error, parsed) => {
      if (error) return done(error, undefined);
      const inherited = inheritedNames(parsed);
      if (inherited.length) return done(unknownProperties(inherited), undefined);
      done(null, parsed);
    });
  });
}

/**
 * A body compressed or in a charset other than UTF-8 would be read as something it is not: 415. `charset=UTF-8`
 * in any case (as SMN SDKs send it) stays accepted. The messages never repeat what the caller sent.
 */
function unsupportedEncoding(headers: IncomingHttpHeaders): BffError | undefined {
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    return new BffError(415, ErrorCode.UnsupportedMediaType, 'The request body must not be compressed (Content-Encoding: identity only).');
  }
  // Node undoes only the chunked framing: a body sent with another transfer coding (gzip, chunked) would be read
  // still compressed.
  const transfer = headers['transfer-encoding']?.split(',').map((coding) => coding.trim().toLowerCase());
  if (transfer?.some((coding) => coding !== 'chunked' && coding !== 'identity')) {
    return new BffError(415, ErrorCode.UnsupportedMediaType, 'The request body must not be compressed (Transfer-Encoding: chunked only).');
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    return new BffError(415, ErrorCode.UnsupportedMediaType, 'The request body must be JSON in UTF-8 (charset=utf-8, or no charset).');
  }
  return undefined;
}

/** Keys Nest's validation pipe deletes before validating (`__proto__` and `prototype`): dropped, never refused. */
const DROPPED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'prototype']);

/**
 * Keys named like members of `Object.prototype` (`toString`, `constructor`, `__proto__`, …), anywhere in
 * a parsed body or query, with their paths, and `prototype`. No DTO of this API has such a property, and the
 * validator looks properties up in a plain object, where those names are always found (or the pipe drops them
 * first): refused here, by own-property rules, they can never pass as known.
 */
export function inheritedNames(value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  const found: string[] = [];
  for (const key of Object.keys(value)) {
    const at = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (!Array.isArray(value) && (DROPPED_NAMES.has(key) || Object.prototype.hasOwnProperty.call(Object.prototype, key))) found.push(at);
    else found.push(...inheritedNames((value as Record<string, unknown>)[key], at));
  }
  return found;
}

export function unknownProperties(paths: string[]) {
  return validationFailed(paths.map((field) => ({ field, message: 'is not a known property' })));
}

/** The deepest array/object nesting of JSON text, counted up to `stopAbove + 1` (strings skipped). */
export function nestingDepth(text: string, stopAbove: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > stopAbove) return deepest;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}
