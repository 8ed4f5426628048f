import type { FastifyRequest } from 'fastify';
import { AccessKeyAuthenticator, SDK_DATE_WINDOW_MS } from './access-key.authenticator';
import { AuthDeniedError } from './auth.errors';

/**
 * The verifier against the published SMN-shaped vector 3b (docs/upstream-smn.md §8.3): the request the
 * official Node signer signed, as it arrives. The raw body reaches the verifier through the JSON parser,
 * which is not in this unit, so the parsed-body lookup is stubbed by the request key it uses.
 */

jest.mock('../common/json-body', () => ({ rawBodyOf: (request: { rawBody?: Buffer }) => request.rawBody }));

const PID = '0123456789abcdef0123456789abcdef';
const BODY = `{"callback":[{"event_type":"sms_reply_event","topic_urn":"urn:smn:cn-north-4:${PID}:reply_topic"}]}`;
const SIGNED_AT = Date.parse('2024-01-01T00:00:00Z');
const AUTHORIZATION =
  'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=dca22b5fcc31adbf31a820694fa996f0750d000aa0c7ada2d4ff643195004928';

const vector3b = (change: { body?: string; headers?: Record<string, string> } = {}) =>
  ({
    method: 'PUT',
    url: `/v2/${PID}/notifications/sms/callback`,
    headers: {
      'content-type': 'application/json',
      host: 'smn.cn-north-4.myhuaweicloud.com',
      'x-project-id': PID,
      'x-sdk-date': '20240101T000000Z',
      authorization: AUTHORIZATION,
      ...change.headers,
    },
    rawBody: Buffer.from(change.body ?? BODY),
  }) as unknown as FastifyRequest;

const keys = [{ name: 'vector', accessKeyId: 'AccessKey', secret: 'SecretKey', scopes: ['sms-callback:write'], projects: '*' as const }];
const at = (ms: number) => new AccessKeyAuthenticator(keys, () => ms);

function refusal(authenticator: AccessKeyAuthenticator, request: FastifyRequest): AuthDeniedError {
  try {
    authenticator.authenticate(request, request.headers.authorization!);
  } catch (error) {
    if (error instanceof AuthDeniedError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('AccessKeyAuthenticator', () => {
  it('accepts the published vector and names the key', () => {
    expect(at(SIGNED_AT).authenticate(vector3b(), AUTHORIZATION)).toMatchObject({ kind: 'access-key', subject: 'vector', projects: '*' });
  });

  it('accepts the whole window and not a millisecond more, either way', () => {
    expect(() => at(SIGNED_AT + SDK_DATE_WINDOW_MS).authenticate(vector3b(), AUTHORIZATION)).not.toThrow();
    expect(() => at(SIGNED_AT - SDK_DATE_WINDOW_MS).authenticate(vector3b(), AUTHORIZATION)).not.toThrow();
    expect(refusal(at(SIGNED_AT + SDK_DATE_WINDOW_MS + 1), vector3b()).reason).toBe('signature_expired');
    expect(refusal(at(SIGNED_AT - SDK_DATE_WINDOW_MS - 1), vector3b()).reason).toBe('signature_expired');
  });

  it.each([
    ['another body', { body: BODY.replace('reply_topic', 'other_topic') }, 'signature_mismatch'],
    ['the body with a trailing newline', { body: `${BODY}\n` }, 'signature_mismatch'],
    ['another host', { headers: { host: 'smn.cn-north-1.myhuaweicloud.com' } }, 'signature_mismatch'],
    ['an impossible date', { headers: { 'x-sdk-date': '20241340T000000Z' } }, 'malformed_credentials'],
  ])('refuses %s', (_name, change, reason) => {
    expect(refusal(at(SIGNED_AT), vector3b(change))).toMatchObject({ status: 401, reason });
  });

  it('refuses a key it does not hold, and says nothing about the secret', () => {
    const error = refusal(new AccessKeyAuthenticator([], () => SIGNED_AT), vector3b());
    expect(error.reason).toBe('unknown_access_key');
    expect(error.message).not.toContain('SecretKey');
  });
});
