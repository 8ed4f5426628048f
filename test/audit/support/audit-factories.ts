import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { AuditSigningKey } from '../../../src/audit/audit-signing-key';
import { AuditIntent, NewAuditRecord } from '../../../src/audit/audit.types';

export const PROJECT_A = 'a'.repeat(32);
export const PROJECT_B = 'b'.repeat(32);

export function aSigningKey(): AuditSigningKey {
  return new AuditSigningKey(generateKeyPairSync('ed25519').privateKey);
}

export function anIntent(overrides: Partial<AuditIntent> = {}): AuditIntent {
  return {
    id: randomUUID(),
    instance_id: 'test-instance',
    request_id: `req-${randomUUID()}`,
    started_at: new Date().toISOString(),
    actor_kind: 'jwt',
    actor_subject: 'alice',
    actor_client_id: 'console',
    source_ip: '192.0.2.1',
    user_agent: 'jest',
    project_id: PROJECT_A,
    requested: { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] },
    before: null,
    ...overrides,
  };
}

export function aRecord(overrides: Partial<NewAuditRecord> = {}): NewAuditRecord {
  const { instance_id: _instance, ...attempt } = anIntent();
  return {
    ...attempt,
    before: { callback: [] },
    outcome: 'succeeded',
    http_status: 200,
    error_code: null,
    upstream_status: 200,
    upstream_request_id: `up-${randomUUID()}`,
    duration_ms: 12,
    amends: null,
    ...overrides,
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
