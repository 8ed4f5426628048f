import type { FastifyInstance } from 'fastify';
import { validationFailed } from './validation';

/** Deeper JSON than any body of this API needs; refused before parsing, so no recursion ever meets it. */
export const MAX_JSON_DEPTH = 32;

/**
 * Fastify's own JSON parser (body limit, prototype-poisoning refusal) behind a nesting limit: a body nested
 * thousands of levels deep is refused with 400 `BFF.VALIDATION_FAILED` while it is still text, instead of
 * overflowing the stack of the validators, the audit's canonical JSON or the database's jsonb.
 */
export function useJsonBodyParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestingDepth(body as string, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      done(validationFailed([{ field: 'body', message: `must not nest deeper than ${MAX_JSON_DEPTH} levels` }]), undefined);
      return;
    }
    parse(request, body as string, done);
  });
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
