import { createHash, createHmac } from 'node:crypto';
import { SignedRequest, VerifyOptions, canonicalRequest, stringToSign, verifySignature } from './signature-verifier';

/** The published signing test vectors (Huawei's guide, the Go v3 SDK's tests, the official Node signer), and one change at a time to each. */

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const PID = '0123456789abcdef0123456789abcdef';
const SMN_HOST = 'smn.cn-north-4.myhuaweicloud.com';
const EMPTY_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

interface Vector {
  ak: string;
  sk: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  signedHeaders: string;
  signature: string;
}

function request(v: Vector, changes: Partial<Vector> = {}): SignedRequest {
  const x = { ...v, ...changes };
  return {
    method: x.method,
    url: x.url,
    headers: {
      ...x.headers,
      authorization: `SDK-HMAC-SHA256 Access=${x.ak}, SignedHeaders=${x.signedHeaders}, Signature=${x.signature}`,
    },
    body: x.body === undefined ? undefined : Buffer.from(x.body),
  };
}

/** "Now" is the instant the vector was signed, plus `offsetSeconds`. */
function options(v: Vector, offsetSeconds = 0): VerifyOptions {
  const d = v.headers['x-sdk-date'];
  const signedAt = Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15));
  return {
    secretFor: (ak) => (ak === v.ak ? v.sk : undefined),
    nowMs: signedAt + offsetSeconds * 1000,
    clockSkewSeconds: 900,
  };
}

const huaweiExample: Vector = {
  ak: 'QTWAOYTTINDUT2QVKYUC',
  sk: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc',
  method: 'GET',
  url: '/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
  headers: { 'content-type': 'application/json', host: 'service.region.example.com', 'x-sdk-date': '20191115T033655Z' },
  signedHeaders: 'content-type;host;x-sdk-date',
  signature: '7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe',
};

const goV3 = { ak: 'AccessKey', sk: 'SecretKey', signedHeaders: 'x-sdk-date' };
const goGet: Vector = {
  ...goV3,
  method: 'GET',
  url: '/path?limit=1',
  headers: { host: 'example.huaweicloud.com', 'x-sdk-date': '20060102T150405Z' },
  signature: '5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624',
};
const goPost: Vector = {
  ...goV3,
  method: 'POST',
  url: '/path?key=value',
  headers: { host: 'example.huaweicloud.com', 'x-sdk-date': '20060102T150405Z' },
  body: '{"Name":"test","Id":1}\n',
  signature: 'cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59',
};

const smnCommon = {
  ak: 'AccessKey',
  sk: 'SecretKey',
  headers: { 'content-type': 'application/json', host: SMN_HOST, 'x-project-id': PID, 'x-sdk-date': '20240101T000000Z' },
  signedHeaders: 'content-type;host;x-project-id;x-sdk-date',
};
const smnList: Vector = {
  ...smnCommon,
  method: 'GET',
  url: `/v2/${PID}/notifications/sms/callback?event_type=sms_reply_event`,
  signature: '2de6da2230e639429dd9457109133c7e1635d2c46495bb40742437c6dbeb4329',
};
const smnUpdateBody = `{"callback":[{"event_type":"sms_reply_event","topic_urn":"urn:smn:cn-north-4:${PID}:reply_topic"}]}`;
const smnUpdate: Vector = {
  ...smnCommon,
  method: 'PUT',
  url: `/v2/${PID}/notifications/sms/callback`,
  body: smnUpdateBody,
  signature: 'dca22b5fcc31adbf31a820694fa996f0750d000aa0c7ada2d4ff643195004928',
};
const smnSecurityToken: Vector = {
  ...smnCommon,
  method: 'GET',
  url: `/v2/${PID}/notifications/sms/callback`,
  headers: { ...smnCommon.headers, 'x-security-token': 'tmptoken' },
  signedHeaders: 'content-type;host;x-project-id;x-sdk-date;x-security-token',
  signature: 'ef60eb1543e3118af444c2fa29d3b066b39b757c376deebcd1dd8c982319e44a',
};
const smnUnsignedPayload: Vector = {
  ak: 'AccessKey',
  sk: 'SecretKey',
  method: 'PUT',
  url: '/v2/p/x',
  headers: {
    'content-type': 'text/plain',
    host: SMN_HOST,
    'x-sdk-content-sha256': 'UNSIGNED-PAYLOAD',
    'x-sdk-date': '20240101T000000Z',
  },
  body: 'any bytes at all',
  signedHeaders: 'content-type;host;x-sdk-content-sha256;x-sdk-date',
  signature: 'd2155c36c4ab8e7aa9cb0b19c46b6163d439ad0639433b44399f65d1866bdb74',
};

describe('verifySignature: the published vectors', () => {
  it.each([
    ['1: Huawei signing guide example', huaweiExample],
    ['2a: Go v3 SDK, GET', goGet],
    ['2b: Go v3 SDK, POST with body', goPost],
    ['3a: SMN ListSmsEvent with event_type', smnList],
    ['3b: SMN UpdateSmsEvent with body', smnUpdate],
    ['3c: with X-Security-Token', smnSecurityToken],
    ['3d: UNSIGNED-PAYLOAD', smnUnsignedPayload],
  ])('accepts vector %s', (_name, vector) => {
    expect(verifySignature(request(vector), options(vector))).toEqual({ ok: true, accessKey: vector.ak });
  });

  it('builds the canonical request of vector 1 exactly as the guide prints it', () => {
    const canonical = canonicalRequest(request(huaweiExample), huaweiExample.signedHeaders);
    expect(canonical).toBe(
      'GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\nlimit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n' +
        'content-type:application/json\nhost:service.region.example.com\nx-sdk-date:20191115T033655Z\n\n' +
        `content-type;host;x-sdk-date\n${EMPTY_HASH}`,
    );
    expect(sha256(canonical!)).toBe('b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a');
  });

  it('matches the published intermediate hashes of vectors 3a and 3b', () => {
    const canonical = canonicalRequest(request(smnList), smnList.signedHeaders)!;
    expect(sha256(canonical)).toBe('7d3eca85afd5acab51ad7ffdc9eb561ac17d13b1f2c4851d47dd311348bcf483');
    expect(stringToSign('20240101T000000Z', canonical)).toBe(`SDK-HMAC-SHA256\n20240101T000000Z\n${sha256(canonical)}`);
    expect(sha256(smnUpdateBody)).toBe('921d90d6d583ae2cea72f4349f19be8f93990dd059fbfbedc4d136076fafe20e');
    expect(canonicalRequest(request(smnUpdate), smnUpdate.signedHeaders)!.endsWith(`\n${sha256(smnUpdateBody)}`)).toBe(true);
  });
});

describe('verifySignature: rejections', () => {
  const mismatch = {
    ok: false,
    reason: 'mismatch',
    message: 'Incorrect IAM authentication information: verify aksk signature fail',
    accessKey: 'AccessKey',
  };

  it('rejects a tampered body', () => {
    const tampered = request(smnUpdate, { body: smnUpdateBody.replace('reply_topic', 'other_topic') });
    expect(verifySignature(tampered, options(smnUpdate))).toEqual(mismatch);
  });

  it('rejects a body added to a request signed without one', () => {
    expect(verifySignature(request(smnList, { body: '{}' }), options(smnList))).toEqual(mismatch);
  });

  it('rejects a tampered signed header', () => {
    const tampered = request(smnList, { headers: { ...smnList.headers, 'x-project-id': 'f'.repeat(32) } });
    expect(verifySignature(tampered, options(smnList))).toEqual(mismatch);
  });

  it('rejects a tampered query', () => {
    const tampered = request(smnList, { url: smnList.url.replace('sms_reply_event', 'sms_fail_event') });
    expect(verifySignature(tampered, options(smnList))).toEqual(mismatch);
  });

  it('rejects a tampered path', () => {
    const tampered = request(smnList, { url: smnList.url.replace(PID, 'f'.repeat(32)) });
    expect(verifySignature(tampered, options(smnList))).toEqual(mismatch);
  });

  it('rejects a tampered method', () => {
    expect(verifySignature(request(smnList, { method: 'DELETE' }), options(smnList))).toEqual(mismatch);
  });

  it('rejects a tampered date, even one inside the allowed window', () => {
    const tampered = request(smnList, { headers: { ...smnList.headers, 'x-sdk-date': '20240101T000001Z' } });
    expect(verifySignature(tampered, options(smnList))).toEqual(mismatch);
  });

  it('rejects the right signature made with the wrong secret', () => {
    const wrongSecret = { ...options(smnList), secretFor: () => 'NotTheSecret' };
    expect(verifySignature(request(smnList), wrongSecret)).toEqual(mismatch);
  });

  it('rejects a signed header that the request does not carry', () => {
    const { 'x-project-id': _dropped, ...headers } = smnList.headers;
    expect(verifySignature(request(smnList, { headers }), options(smnList))).toEqual(mismatch);
  });

  it('rejects a signature that does not cover X-Sdk-Date', () => {
    const undated = request(smnList, { signedHeaders: 'content-type;host;x-project-id' });
    expect(verifySignature(undated, options(smnList))).toEqual(mismatch);
  });

  it('rejects a clock skew of more than 15 minutes, with the wording APIG uses', () => {
    expect(verifySignature(request(smnList), options(smnList, 15 * 60 + 1))).toEqual({
      ok: false,
      reason: 'expired',
      message:
        'Incorrect IAM authentication information: calc aksk signature fail:signature expired, ' +
        'signature time:20240101T000000Z,server time:20240101T001501Z',
      accessKey: 'AccessKey',
    });
    expect(verifySignature(request(smnList), options(smnList, -(15 * 60 + 1)))).toMatchObject({ reason: 'expired' });
  });

  it('accepts a clock skew of exactly 15 minutes either way', () => {
    expect(verifySignature(request(smnList), options(smnList, 15 * 60))).toMatchObject({ ok: true });
    expect(verifySignature(request(smnList), options(smnList, -15 * 60))).toMatchObject({ ok: true });
  });

  it('rejects an unknown access key', () => {
    expect(verifySignature(request(smnList, { ak: 'NOSUCHKEY' }), options(smnList))).toEqual({
      ok: false,
      reason: 'unknown-ak',
      message: 'Incorrect IAM authentication information: ak NOSUCHKEY not exist',
      accessKey: 'NOSUCHKEY',
    });
  });

  it('rejects a request without Authorization', () => {
    const unsigned = { ...request(smnList), headers: smnList.headers };
    expect(verifySignature(unsigned, options(smnList))).toEqual({
      ok: false,
      reason: 'missing',
      message: 'Incorrect IAM authentication information: Authorization not found',
    });
  });

  it.each([
    ['another scheme', 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln'],
    [
      'the legacy Credential= form',
      `SDK-HMAC-SHA256 Credential=AccessKey/20240101/cn-north-4/SMN/sdk_request, SignedHeaders=host;x-sdk-date, Signature=${'a'.repeat(64)}`,
    ],
    ['no space after the commas', `SDK-HMAC-SHA256 Access=AccessKey,SignedHeaders=host;x-sdk-date,Signature=${'a'.repeat(64)}`],
    ['an upper-case signature', `SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, Signature=${'A'.repeat(64)}`],
    ['a short signature', 'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, Signature=abc'],
    ['no signature', 'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date'],
  ])('rejects a malformed Authorization header: %s', (_name, authorization) => {
    const malformed = { ...request(smnList), headers: { ...smnList.headers, authorization } };
    expect(verifySignature(malformed, options(smnList))).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it.each([
    ['missing', undefined],
    ['in ISO form', '2024-01-01T00:00:00Z'],
    ['not a real date', '20241340T000000Z'],
  ])('rejects an X-Sdk-Date that is %s', (_name, date) => {
    const headers: Record<string, string> = { ...smnList.headers };
    if (date === undefined) delete headers['x-sdk-date'];
    else headers['x-sdk-date'] = date;
    expect(verifySignature(request(smnList, { headers }), options(smnList))).toMatchObject({ ok: false, reason: 'bad-date' });
  });
});

describe('verifySignature: canonicalisation across client libraries', () => {
  /** A signer for one canonical request written out by hand, so the test does not trust the code. */
  function signedWith(canonical: string, url: string, headers: Record<string, string>): SignedRequest {
    const signature = createHmac('sha256', 'SecretKey')
      .update(`SDK-HMAC-SHA256\n${headers['x-sdk-date']}\n${sha256(canonical)}`)
      .digest('hex');
    const signedHeaders = Object.keys(headers).sort().join(';');
    return {
      method: 'GET',
      url,
      headers: { ...headers, authorization: `SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=${signedHeaders}, Signature=${signature}` },
    };
  }
  const headers = { host: SMN_HOST, 'x-sdk-date': '20240101T000000Z' };
  const lines = `host:${SMN_HOST}\nx-sdk-date:20240101T000000Z\n\nhost;x-sdk-date\n${EMPTY_HASH}`;
  const now = { secretFor: () => 'SecretKey', nowMs: Date.UTC(2024, 0, 1), clockSkewSeconds: 900 };

  it('signs the decoded query, sorted, whatever escaping the wire used', () => {
    // Node's querystring sends "!" raw and a space as %20; Go sends a space as "+".
    const canonical = `GET\n/v2/x/\na=%21&b=x%20y&b=z\n${lines}`;
    expect(verifySignature(signedWith(canonical, '/v2/x?b=z&b=x+y&a=!', headers), now)).toMatchObject({ ok: true });
    expect(verifySignature(signedWith(canonical, '/v2/x?a=%21&b=x%20y&b=z', headers), now)).toMatchObject({ ok: true });
  });

  it('accepts a bare trailing "?" as an empty query', () => {
    const canonical = `GET\n/v2/x/\n\n${lines}`;
    expect(verifySignature(signedWith(canonical, '/v2/x?', headers), now)).toMatchObject({ ok: true });
  });

  it('accepts both the Node (encode again) and the Python/Go (decode first) path forms', () => {
    const node = `GET\n/v2/a%2520b/\n\n${lines}`;
    const decodedFirst = `GET\n/v2/a%20b/\n\n${lines}`;
    expect(verifySignature(signedWith(node, '/v2/a%20b', headers), now)).toMatchObject({ ok: true });
    expect(verifySignature(signedWith(decodedFirst, '/v2/a%20b', headers), now)).toMatchObject({ ok: true });
  });

  it('trims header values', () => {
    const canonical = `GET\n/v2/x/\n\n${lines}`;
    const request = signedWith(canonical, '/v2/x', headers);
    request.headers.host = `  ${SMN_HOST} `;
    expect(verifySignature(request, now)).toMatchObject({ ok: true });
  });
});
