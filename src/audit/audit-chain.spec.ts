import { generateKeyPairSync } from 'node:crypto';
import { canonicalJson, chainHash, GENESIS_HASH, signHash, toJsonValue, toSafeText, verifyHashSignature } from './audit-chain';
import { AuditRecordBody } from './audit.types';

const body: AuditRecordBody = {
  id: '6f1c1f0e-8a59-4a0e-9d4c-0f7b1f0a2b3c',
  request_id: 'req-1',
  started_at: '2025-05-01T10:00:00.000Z',
  recorded_at: '2025-05-01T10:00:00.250Z',
  actor_kind: 'jwt',
  actor_subject: 'alice',
  actor_client_id: null,
  source_ip: '192.0.2.1',
  user_agent: null,
  project_id: 'a'.repeat(32),
  requested: { callback: [{ topic_urn: '', event_type: 'sms_fail_event' }] },
  before: null,
  outcome: 'succeeded',
  http_status: 200,
  error_code: null,
  upstream_status: 200,
  upstream_request_id: 'up-1',
  duration_ms: 250,
  amends: null,
};

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined properties', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"z":1}]},"b":1}');
  });

  it('does not depend on key order', () => {
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });
});

describe('toJsonValue / toSafeText', () => {
  it('replaces what PostgreSQL cannot store and keeps escaped backslashes', () => {
    expect(toJsonValue({ 'k\u0000': ['a\u0000b', 'lone\ud800', 'pair\ud83d\ude00', 'lit\\u0000'] })).toEqual({
      'k\ufffd': ['a\ufffdb', 'lone\ufffd', 'pair\ud83d\ude00', 'lit\\u0000'],
    });
    expect(toSafeText('x\u0000\udc00\ud83d\ude00')).toBe('x\ufffd\ufffd\ud83d\ude00');
  });

  it('turns non-JSON values into what a jsonb column returns', () => {
    expect(toJsonValue(undefined)).toBeNull();
    expect(toJsonValue({ at: new Date(0), n: NaN, skip: undefined })).toEqual({ at: '1970-01-01T00:00:00.000Z', n: null });
  });
});

describe('chainHash', () => {
  it('is sha256 over the previous hash and the canonical record, ignoring chain fields', () => {
    const hash = chainHash(GENESIS_HASH, body);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(chainHash(GENESIS_HASH, { ...body, seq: 9, hash: 'x', signature: 'y' } as AuditRecordBody)).toBe(hash);
    expect(chainHash('1'.repeat(64), body)).not.toBe(hash);
    expect(chainHash(GENESIS_HASH, { ...body, http_status: 201 })).not.toBe(hash);
  });
});

describe('signatures', () => {
  it('verify with the matching public key only', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519').publicKey;
    const hash = chainHash(GENESIS_HASH, body);
    const signature = signHash(privateKey, hash);
    expect(verifyHashSignature(publicKey, hash, signature)).toBe(true);
    expect(verifyHashSignature(other, hash, signature)).toBe(false);
    expect(verifyHashSignature(publicKey, chainHash('1'.repeat(64), body), signature)).toBe(false);
    expect(verifyHashSignature(publicKey, hash, 'garbage')).toBe(false);
  });
});
