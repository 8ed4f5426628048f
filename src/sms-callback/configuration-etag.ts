import { createHash } from 'node:crypto';
import type { SmsCallback } from '../smn/smn.port';

/**
 * Strong ETag of a project's callback configuration: a hash of the sorted (event type, topic) pairs, so the
 * order SMN lists them in does not matter.
 */
export function configurationEtag(callbacks: SmsCallback[]): string {
  const canonical = callbacks
    .map((c) => `${c.eventType}=${c.topicUrn}`)
    .sort()
    .join('\n');
  return `"${createHash('sha256').update(canonical).digest('base64url').slice(0, 27)}"`;
}

/** `If-Match` per RFC 9110 §13.1.1: `*`, or a list of entity tags compared strongly (weak tags never match). */
export function ifMatchSatisfied(header: string, etag: string): boolean {
  const value = header.trim();
  if (value === '*') return true;
  return value.split(',').some((tag) => tag.trim() === etag);
}
