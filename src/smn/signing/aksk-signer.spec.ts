import { createHash, createHmac } from 'node:crypto';
import {
  canonicalQueryString,
  canonicalRequest,
  canonicalUri,
  createAkSkSigner,
  EMPTY_BODY_SHA256,
  formatSdkDate,
  signRequest,
  stringToSign,
  uriEncode,
} from './aksk-signer';

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const hmac = (key: string, s: string): string => createHmac('sha256', key).update(s).digest('hex');
const signatureOf = (authorization: string): string => /Signature=([0-9a-f]{64})$/.exec(authorization)?.[1] ?? '';
const signedHeadersOf = (authorization: string): string => /SignedHeaders=([^,]*),/.exec(authorization)?.[1] ?? '';
const at = (sdkDate: string): Date =>
  new Date(`${sdkDate.slice(0, 4)}-${sdkDate.slice(4, 6)}-${sdkDate.slice(6, 8)}T${sdkDate.slice(9, 11)}:${sdkDate.slice(11, 13)}:${sdkDate.slice(13, 15)}Z`);

describe('aksk-signer: the published vectors (docs/upstream-smn.md §8.3)', () => {
  it('1: official Huawei example (canonical request, its hash, signature)', () => {
    const credentials = { ak: 'QTWAOYTTINDUT2QVKYUC', sk: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc' };
    const date = '20191115T033655Z';
    const path = '/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs';
    const query = 'limit=2&marker=13551d6b-755d-4757-b956-536f674975c0';
    const expectedText = [
      'GET',
      '/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/',
      'limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
      'content-type:application/json',
      'host:service.region.example.com',
      `x-sdk-date:${date}`,
      '',
      'content-type;host;x-sdk-date',
      EMPTY_BODY_SHA256,
    ].join('\n');

    const canonical = canonicalRequest({
      method: 'GET',
      path,
      query,
      headers: { 'Content-Type': 'application/json', host: 'service.region.example.com', 'X-Sdk-Date': date },
    });
    expect(canonical.text).toBe(expectedText);
    expect(sha256(canonical.text)).toBe('b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a');

    const out = signRequest(
      { method: 'GET', url: `https://service.region.example.com${path}?${query}`, headers: { 'Content-Type': 'application/json' } },
      credentials,
      at(date),
    );
    expect(out['X-Sdk-Date']).toBe(date);
    expect(out.Authorization).toBe(
      'SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, ' +
        'Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe',
    );
  });

  // The Go v3 unit tests sign x-sdk-date only (no host), so they go through the building blocks.
  const goSignature = (method: string, query: string, body: string): string => {
    const date = '20060102T150405Z';
    const canonical = canonicalRequest({ method, path: '/path', query, headers: { 'X-Sdk-Date': date }, body });
    expect(canonical.signedHeaders).toBe('x-sdk-date');
    return hmac('SecretKey', stringToSign(date, canonical.text));
  };

  it('2a: Go v3 GET with empty body', () => {
    expect(goSignature('GET', 'limit=1', '')).toBe('5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624');
  });

  it('2b: Go v3 POST with the JSON encoder trailing newline in the body', () => {
    expect(goSignature('POST', 'key=value', '{"Name":"test","Id":1}\n')).toBe('cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59');
  });

  describe('3: SMN-shaped vectors from the Node core 3.1.211', () => {
    const pid = '0123456789abcdef0123456789abcdef';
    const base = `https://smn.cn-north-4.myhuaweicloud.com/v2/${pid}/notifications/sms/callback`;
    const now = at('20240101T000000Z');
    const credentials = { ak: 'AccessKey', sk: 'SecretKey' };
    const headers = { 'content-type': 'application/json', 'X-Project-Id': pid };

    it('3a: GET with event_type query (SignedHeaders, canonical-request hash, signature)', () => {
      const out = signRequest({ method: 'GET', url: `${base}?event_type=sms_reply_event`, headers }, credentials, now);
      expect(signedHeadersOf(out.Authorization)).toBe('content-type;host;x-project-id;x-sdk-date');
      expect(signatureOf(out.Authorization)).toBe('2de6da2230e639429dd9457109133c7e1635d2c46495bb40742437c6dbeb4329');

      const canonical = canonicalRequest({
        method: 'GET',
        path: `/v2/${pid}/notifications/sms/callback`,
        query: 'event_type=sms_reply_event',
        headers: { ...headers, host: 'smn.cn-north-4.myhuaweicloud.com', 'x-sdk-date': '20240101T000000Z' },
      });
      expect(sha256(canonical.text)).toBe('7d3eca85afd5acab51ad7ffdc9eb561ac17d13b1f2c4851d47dd311348bcf483');
    });

    it('3b: PUT with a compact JSON body (payload hash, signature)', () => {
      const body = `{"callback":[{"event_type":"sms_reply_event","topic_urn":"urn:smn:cn-north-4:${pid}:reply_topic"}]}`;
      const canonical = canonicalRequest({ method: 'PUT', path: '/', query: '', headers: {}, body });
      expect(canonical.payloadHash).toBe('921d90d6d583ae2cea72f4349f19be8f93990dd059fbfbedc4d136076fafe20e');

      const out = signRequest({ method: 'PUT', url: base, headers, body }, credentials, now);
      expect(signatureOf(out.Authorization)).toBe('dca22b5fcc31adbf31a820694fa996f0750d000aa0c7ada2d4ff643195004928');
      // The same bytes as a Buffer sign the same.
      expect(signRequest({ method: 'PUT', url: base, headers, body: Buffer.from(body) }, credentials, now)).toEqual(out);
    });

    it('3c: security token is signed and returned', () => {
      const out = signRequest({ method: 'GET', url: base, headers }, { ...credentials, securityToken: 'tmptoken' }, now);
      expect(signedHeadersOf(out.Authorization)).toBe('content-type;host;x-project-id;x-sdk-date;x-security-token');
      expect(signatureOf(out.Authorization)).toBe('ef60eb1543e3118af444c2fa29d3b066b39b757c376deebcd1dd8c982319e44a');
      expect(out['X-Security-Token']).toBe('tmptoken');
    });

    it('3d: UNSIGNED-PAYLOAD replaces the payload hash', () => {
      const request = {
        method: 'PUT',
        url: 'https://smn.cn-north-4.myhuaweicloud.com/v2/p/x',
        headers: { 'content-type': 'text/plain', 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' },
      };
      const out = signRequest(request, credentials, now);
      expect(signedHeadersOf(out.Authorization)).toBe('content-type;host;x-sdk-content-sha256;x-sdk-date');
      expect(signatureOf(out.Authorization)).toBe('d2155c36c4ab8e7aa9cb0b19c46b6163d439ad0639433b44399f65d1866bdb74');
      expect(canonicalRequest({ method: 'PUT', path: '/v2/p/x', query: '', headers: request.headers }).payloadHash).toBe('UNSIGNED-PAYLOAD');
      // The body is not part of the signature then.
      expect(signRequest({ ...request, body: 'anything' }, credentials, now)).toEqual(out);
    });
  });
});

describe('aksk-signer: building blocks and decisions', () => {
  const now = new Date('2024-01-01T00:00:00Z');
  const credentials = { ak: 'AccessKey', sk: 'SecretKey' };
  const canonicalOf = (url: string, headers: Record<string, string> = {}, body?: string): string => {
    const [, authority, path, query] = /^https?:\/\/([^/?]*)([^?]*)\??(.*)$/.exec(url) ?? [];
    return canonicalRequest({ method: 'GET', path, query, headers: { host: authority, ...headers }, body }).text;
  };

  it('signs an explicit non-default port in host, and drops the default one', () => {
    const sign = (url: string) => signRequest({ method: 'GET', url, headers: {} }, credentials, now).Authorization;
    const expected = canonicalRequest({
      method: 'GET',
      path: '/v2/p',
      query: '',
      headers: { host: 'smn.example.com:8443', 'x-sdk-date': '20240101T000000Z' },
    });
    expect(sign('https://smn.example.com:8443/v2/p')).toBe(
      `SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, Signature=${hmac('SecretKey', stringToSign('20240101T000000Z', expected.text))}`,
    );
    expect(sign('https://SMN.Example.com:443/v2/p')).toBe(sign('https://smn.example.com/v2/p'));
    expect(sign('http://smn.example.com:80/v2/p')).toBe(sign('http://smn.example.com/v2/p'));
    expect(sign('http://smn.example.com:443/v2/p')).not.toBe(sign('http://smn.example.com/v2/p'));
  });

  it('hashes an empty or missing body as the empty string', () => {
    expect(EMPTY_BODY_SHA256).toBe(sha256(''));
    const sign = (body?: string | Buffer) => signRequest({ method: 'DELETE', url: 'https://h/x', headers: {}, body }, credentials, now);
    expect(sign('')).toEqual(sign(undefined));
    expect(sign(Buffer.alloc(0))).toEqual(sign(undefined));
    expect(canonicalOf('https://h/x').endsWith(`\n${EMPTY_BODY_SHA256}`)).toBe(true);
  });

  it('adds X-Security-Token only when the credentials carry one', () => {
    const request = { method: 'GET', url: 'https://h/x', headers: {} };
    expect(Object.keys(signRequest(request, credentials, now)).sort()).toEqual(['Authorization', 'X-Sdk-Date']);
    const withToken = signRequest(request, { ...credentials, securityToken: 'tok' }, now);
    expect(withToken['X-Security-Token']).toBe('tok');
    // A token passed as a header instead signs the same.
    expect(signRequest({ ...request, headers: { 'x-security-token': 'tok' } }, credentials, now).Authorization).toBe(withToken.Authorization);
    expect(() => signRequest({ ...request, headers: { 'x-security-token': 'other' } }, { ...credentials, securityToken: 'tok' }, now)).toThrow(TypeError);
  });

  it('formats X-Sdk-Date in UTC basic format and uses the current time by default', () => {
    expect(formatSdkDate(new Date('2019-11-15T03:36:55.999Z'))).toBe('20191115T033655Z');
    const before = formatSdkDate(new Date());
    const date = signRequest({ method: 'GET', url: 'https://h/', headers: {} }, credentials)['X-Sdk-Date'];
    expect(date >= before).toBe(true);
    expect(date).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it('encodes each path segment again (a % becomes %25) and appends a trailing slash', () => {
    expect(canonicalUri('')).toBe('/');
    expect(canonicalUri('/')).toBe('/');
    expect(canonicalUri('/v2/p_1/callback')).toBe('/v2/p_1/callback/');
    expect(canonicalUri('/a/b/')).toBe('/a/b/');
    expect(canonicalUri('/a%20b/%7E/')).toBe('/a%2520b/%257E/');
    expect(canonicalUri("/a:b@c!$&'()*+,;=")).toBe('/a%3Ab%40c%21%24%26%27%28%29%2A%2B%2C%3B%3D/');
    expect(() => canonicalUri('/a b')).toThrow(TypeError);
    expect(() => canonicalUri('/ü')).toThrow(TypeError);
    expect(() => canonicalUri('/a%zz')).toThrow(TypeError);
    expect(() => canonicalUri('/a/../b')).toThrow(TypeError);
    expect(() => canonicalUri('/a/%2E')).toThrow(TypeError);
    expect(canonicalUri('/a/.b/..c')).toBe('/a/.b/..c/');
    // A trailing slash is therefore not significant.
    expect(canonicalUri('/a/b')).toBe(canonicalUri('/a/b/'));
  });

  it('canonicalises the query from decoded pairs, sorted by key then value', () => {
    expect(canonicalQueryString('')).toBe('');
    expect(canonicalQueryString('b=2&a=3&a=1&c')).toBe('a=1&a=3&b=2&c=');
    expect(canonicalQueryString('q=a+b&r=a%20b&s=%2B')).toBe('q=a%20b&r=a%20b&s=%2B');
    expect(canonicalQueryString("k=!'()*~")).toBe('k=%21%27%28%29%2A~');
    expect(canonicalQueryString('%C3%BC=%e2%82%ac&Z=1')).toBe('Z=1&%C3%BC=%E2%82%AC');
    expect(() => canonicalQueryString('a=%E0%A4%A')).toThrow(TypeError);
  });

  it('encodes with RFC 3986 unreserved kept and rejects lone surrogates', () => {
    expect(uriEncode('aZ09-._~')).toBe('aZ09-._~');
    expect(uriEncode('a b/ü😀')).toBe('a%20b%2F%C3%BC%F0%9F%98%80');
    expect(() => uriEncode('\ud800')).toThrow(TypeError);
  });

  it('lower-cases header names, trims values, refuses duplicates and caller-set date or authorization', () => {
    expect(canonicalOf('https://h/x', { 'X-Custom': '  a  b \t' })).toContain('\nx-custom:a  b\n');
    const sign = (headers: Record<string, string>) => signRequest({ method: 'GET', url: 'https://h/x', headers }, credentials, now);
    expect(sign({ 'X-Project-Id': 'p' })).toEqual(sign({ 'x-project-id': ' p ' }));
    expect(() => sign({ 'X-Project-Id': 'p', 'x-project-id': 'p' })).toThrow(TypeError);
    expect(() => sign({ 'X-Sdk-Date': '20240101T000000Z' })).toThrow(TypeError);
    expect(() => sign({ Authorization: 'x' })).toThrow(TypeError);
    expect(() => sign({ 'x-a': 'a\r\nb' })).toThrow(TypeError);
    expect(() => sign({ 'x a': 'b' })).toThrow(TypeError);
  });

  it('uses a caller-supplied host header instead of the URL authority', () => {
    const viaHeader = signRequest({ method: 'GET', url: 'https://10.0.0.1:8443/x', headers: { Host: 'smn.example.com' } }, credentials, now);
    const viaUrl = signRequest({ method: 'GET', url: 'https://smn.example.com/x', headers: {} }, credentials, now);
    expect(viaHeader).toEqual(viaUrl);
  });

  it('rejects URLs it cannot map to a wire request, and an empty AK', () => {
    const sign = (url: string) => signRequest({ method: 'GET', url, headers: {} }, credentials, now);
    expect(() => sign('/relative')).toThrow(TypeError);
    expect(() => sign('https://user@h/x')).toThrow(TypeError);
    expect(() => sign('https://h:99999/x')).toThrow(TypeError);
    expect(() => signRequest({ method: 'GET', url: 'https://h/', headers: {} }, { ak: '', sk: 'x' }, now)).toThrow(TypeError);
  });

  it('precomputed signer matches the one-shot form; the method is upper-cased', () => {
    const request = { method: 'put', url: 'https://h/x?b=1&a=2', headers: { 'content-type': 'application/json' }, body: '{"a":1}' };
    expect(createAkSkSigner(credentials)(request, now)).toEqual(signRequest({ ...request, method: 'PUT' }, credentials, now));
  });
});
