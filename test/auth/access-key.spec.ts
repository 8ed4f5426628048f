import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import pino from 'pino';
import type { AccessKeyEntry } from '../../src/auth/auth.options';
import { sendAsSdk, type SdkResponse } from '../support/smn-sdk-client';
import { createAuthTestApp, failureReasons, PROJECT_A, PROJECT_B } from './support/auth-test-app';

/**
 * Caller AK/SK (README, caller AK/SK for SMN SDK users): requests signed by the official SDK core's signer
 * with a BFF-issued key, against the real auth module behind a test controller. The clock is injected, so
 * the `X-Sdk-Date` window is tested at its edges without waiting.
 */

const NOW = Date.parse('2026-12-01T12:00:00Z');
const MINUTE = 60_000;

const WRITER: AccessKeyEntry = {
  name: 'billing-service',
  accessKeyId: 'BFFAK0000000000000001',
  secret: 'writer-secret-0123456789abcdefghijklmnopqrstuvwxyz',
  scopes: ['sms-callback:read', 'sms-callback:write'],
  projects: [PROJECT_A],
};
const READER: AccessKeyEntry = {
  name: 'reporting-service',
  accessKeyId: 'BFFAK0000000000000002',
  secret: 'reader-secret-0123456789abcdefghijklmnopqrstuvwxyz',
  scopes: ['sms-callback:read'],
  projects: '*',
};
const writer = { ak: WRITER.accessKeyId, sk: WRITER.secret };
const reader = { ak: READER.accessKeyId, sk: READER.secret };

const COMPACT_BODY = '{"callback":[{"event_type":"sms_reply_event","topic_urn":""}]}';
/** Python's `json.dumps` spacing, as smn-sdk-python sends it. */
const SPACED_BODY = '{"callback": [{"event_type": "sms_reply_event", "topic_urn": ""}]}';

describe('caller AK/SK (SDK-HMAC-SHA256 with BFF-issued access keys)', () => {
  const lines: string[] = [];
  const seen: Array<{ caller?: string; kind?: string }> = [];
  let app: NestFastifyApplication;
  let base: string;
  let reasons: string[];

  beforeAll(async () => {
    const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
    const configure = (nest: NestFastifyApplication) =>
      nest
        .getHttpAdapter()
        .getInstance()
        .addHook('onResponse', async (req: FastifyRequest) => {
          seen.push({ caller: req.caller?.subject, kind: req.caller?.kind });
        });
    app = await createAuthTestApp({ auth: { accessKeys: [WRITER, READER] }, logger, configure, clock: () => NOW });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    reasons = failureReasons(app);
  });

  beforeEach(() => {
    reasons.splice(0);
    seen.splice(0);
  });

  afterAll(async () => {
    await app.close();
  });

  const thing = (project = PROJECT_A, query = '') => `${base}/v2/${project}/thing${query}`;
  const get = (at = new Date(NOW), query = '?event_type=sms_reply_event') =>
    ({ method: 'GET', url: thing(PROJECT_A, query), projectId: PROJECT_A, at }) as const;
  const put = (body = COMPACT_BODY, project = PROJECT_A) => ({ method: 'PUT', url: thing(project), projectId: project, body, at: new Date(NOW) }) as const;

  function expectUnauthenticated(res: SdkResponse, reason: string): void {
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'BFF.UNAUTHENTICATED' });
    expect(Object.keys(res.body).sort()).toEqual(['code', 'message', 'request_id']);
    expect(res.body.request_id).toBe(res.headers.get('x-request-id'));
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="sms-callback-bff", error="invalid_token"');
    expect(reasons).toEqual([reason]);
  }

  describe('accepted', () => {
    it('a GET with a query, signed by the official signer, as the key named in the audit', async () => {
      const res = await sendAsSdk(get(), reader);
      expect(res.status).toBe(200);
      expect(seen).toEqual([{ caller: 'reporting-service', kind: 'access-key' }]);
    });

    it.each([
      ['compact JSON (Go, Java, PHP)', COMPACT_BODY],
      ["Python's spacing", SPACED_BODY],
    ])('a PUT whose body is %s: the signature covers the bytes as sent', async (_name, body) => {
      expect((await sendAsSdk(put(body), writer)).status).toBe(200);
      expect(seen).toEqual([{ caller: 'billing-service', kind: 'access-key' }]);
    });

    it.each([
      ['15 minutes old', -15 * MINUTE],
      ['15 minutes ahead', 15 * MINUTE],
    ])('a signature %s (the edge of the window)', async (_name, offset) => {
      expect((await sendAsSdk(get(new Date(NOW + offset)), reader)).status).toBe(200);
    });

    it('a bare "?" after the path, as the Go SDK sends it', async () => {
      expect((await sendAsSdk(get(new Date(NOW), '?'), reader)).status).toBe(200);
    });
  });

  describe('refused with 401', () => {
    it('a wrong secret', async () => {
      expectUnauthenticated(await sendAsSdk(get(), { ak: reader.ak, sk: `${reader.sk}x` }), 'signature_mismatch');
    });

    it('an unknown access key', async () => {
      expectUnauthenticated(await sendAsSdk(get(), { ak: 'BFFAK9999999999999999', sk: reader.sk }), 'unknown_access_key');
    });

    it.each([
      ['stale', -15 * MINUTE - 1000],
      ['future', 15 * MINUTE + 1000],
    ])('a %s X-Sdk-Date, one second outside the window', async (_name, offset) => {
      const res = await sendAsSdk(get(new Date(NOW + offset)), reader);
      expectUnauthenticated(res, 'signature_expired');
      expect(res.body.message).toContain('2026-12-01T12:00:00.000Z');
    });

    it('a tampered body', async () => {
      const res = await sendAsSdk(put(), writer, (wire) => {
        wire.body = wire.body!.replace('""', '"urn:smn:cn-north-4:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:evil"');
      });
      expectUnauthenticated(res, 'signature_mismatch');
    });

    it('a body re-spaced after signing (same JSON value, other bytes)', async () => {
      expectUnauthenticated(await sendAsSdk(put(SPACED_BODY), writer, (wire) => void (wire.body = COMPACT_BODY)), 'signature_mismatch');
    });

    it('a tampered query', async () => {
      const res = await sendAsSdk(get(), reader, (wire) => void (wire.url = wire.url.replace('sms_reply_event', 'sms_fail_event')));
      expectUnauthenticated(res, 'signature_mismatch');
    });

    it('a query added after signing', async () => {
      expectUnauthenticated(await sendAsSdk(get(new Date(NOW), ''), reader, (wire) => void (wire.url += '?event_type=sms_fail_event')), 'signature_mismatch');
    });

    it('a tampered path (another project)', async () => {
      const res = await sendAsSdk(get(), reader, (wire) => void (wire.url = wire.url.replace(PROJECT_A, PROJECT_B)));
      expectUnauthenticated(res, 'signature_mismatch');
    });

    it('a tampered signed header', async () => {
      expectUnauthenticated(await sendAsSdk(get(), reader, (wire) => void (wire.headers['X-Project-Id'] = PROJECT_B)), 'signature_mismatch');
    });

    it('a signed header left out', async () => {
      expectUnauthenticated(await sendAsSdk(get(), reader, (wire) => void delete wire.headers['X-Project-Id']), 'signature_mismatch');
    });

    it('host missing from the signed headers', async () => {
      const res = await sendAsSdk(get(), reader, (wire) => {
        wire.headers.Authorization = wire.headers.Authorization.replace(';host;', ';');
      });
      expectUnauthenticated(res, 'malformed_credentials');
      expect(res.body.message).toMatch(/host and x-sdk-date/);
    });

    it('x-sdk-date missing from the signed headers', async () => {
      const res = await sendAsSdk(get(), reader, (wire) => {
        wire.headers.Authorization = wire.headers.Authorization.replace(';x-sdk-date', '');
      });
      expectUnauthenticated(res, 'malformed_credentials');
    });

    it('an unsigned payload (x-sdk-content-sha256)', async () => {
      const res = await sendAsSdk({ ...put(), headers: { 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' } }, writer);
      expectUnauthenticated(res, 'malformed_credentials');
    });

    it('an X-Sdk-Date that is not the basic format', async () => {
      const res = await sendAsSdk(get(), reader, (wire) => void (wire.headers['X-Sdk-Date'] = '2026-12-01T12:00:00Z'));
      expectUnauthenticated(res, 'malformed_credentials');
    });

    it("the legacy Java SDK's Credential= form", async () => {
      const res = await sendAsSdk(get(), reader, (wire) => {
        wire.headers.Authorization = wire.headers.Authorization.replace(/Access=[^,]+/, `Credential=${reader.ak}/20261201/cn-north-4/SMN/sdk_request`);
      });
      expectUnauthenticated(res, 'malformed_credentials');
    });

    it('two credentials at once: a signature and an API key', async () => {
      expectUnauthenticated(await sendAsSdk(get(), reader, (wire) => void (wire.headers['X-Api-Key'] = 'some-key')), 'malformed_credentials');
    });
  });

  describe('authorised like every caller', () => {
    it('403 for a project outside the key', async () => {
      const res = await sendAsSdk(put(COMPACT_BODY, PROJECT_B), writer);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 403, code: 'BFF.FORBIDDEN' });
      expect(seen).toEqual([{ caller: 'billing-service', kind: 'access-key' }]);
    });

    it('403 for a scope the key lacks', async () => {
      const res = await sendAsSdk(put(), reader);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 403, code: 'BFF.FORBIDDEN' });
    });
  });

  it('never logs or answers with a secret', async () => {
    await sendAsSdk(get(), reader);
    await sendAsSdk(get(), { ak: reader.ak, sk: writer.sk });
    const bodies = JSON.stringify([(await sendAsSdk(put(), { ak: writer.ak, sk: 'wrong' })).body]);
    for (const secret of [WRITER.secret, READER.secret]) {
      expect(lines.join('\n')).not.toContain(secret);
      expect(bodies).not.toContain(secret);
    }
  });
});
