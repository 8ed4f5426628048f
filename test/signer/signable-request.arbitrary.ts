import fc from 'fast-check';
import type { SignableRequest } from '../../src/smn/signing/aksk-signer';

/**
 * Generators of requests the BFF could send to a Huawei Cloud API, for the signer property tests.
 * Paths are in wire form (several encoders); the query is kept as decoded pairs plus the encoder that
 * writes it, so the conformance test can give the official signer the same parameters as an object.
 */

export const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'] as const;
export type JsonBody = Record<string, unknown> | unknown[];

export interface SignCase {
  method: (typeof METHODS)[number];
  scheme: 'https' | 'http';
  /** Authority as written in the URL; never the scheme's default port (see the conformance spec). */
  authority: string;
  /** Wire-form path starting with `/`. */
  path: string;
  /** Decoded query pairs in wire order, repeated keys allowed. */
  query: Array<[string, string]>;
  queryEncoding: 'form' | 'strict' | 'strict-lower-hex' | 'component';
  headers: Record<string, string>;
  securityToken?: { value: string; via: 'credentials' | 'header' };
  /** Sent as its compact JSON serialisation. */
  body?: JsonBody;
  bodyAsBuffer: boolean;
  now: Date;
  ak: string;
  sk: string;
}

const chars = (set: string): fc.Arbitrary<string> => fc.constantFrom(...set);
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const UNRESERVED = `${ALNUM}-_.~`;
const RESERVED = ':/?#[]@!$&\'()*+,;=% "<>\\^`{|}';

/** Raw (decoded) text: unreserved, reserved and arbitrary Unicode code points (no lone surrogates). */
const rawText = (maxLength: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: chars(UNRESERVED), maxLength }),
    fc.string({ unit: fc.oneof(chars(UNRESERVED), chars(RESERVED)), maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: fc.oneof(chars(RESERVED), fc.constantFrom('ü', '€', '😀', '中', '\u00a0')), maxLength }),
  );

/** RFC 3986 strict: only unreserved bytes stay. */
export function strictEncode(text: string, lowerHex = false): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (UNRESERVED.includes(c)) out += c;
    else {
      const hex = byte.toString(16).padStart(2, '0');
      out += `%${lowerHex ? hex : hex.toUpperCase()}`;
    }
  }
  return out;
}

const SEGMENT_ENCODERS: Array<(s: string) => string> = [
  (s) => strictEncode(s),
  (s) => strictEncode(s, true),
  // encodeURIComponent leaves !'()* raw. A raw ' is escaped to %27 because the official signer's
  // url.parse escapes it and then encodes it again (%2527), while a WHATWG client sends it raw.
  (s) => encodeURIComponent(s).replace(/'/g, '%27'),
  // Sub-delims, ':' and '@' are legal raw in a path segment (RFC 3986 pchar).
  (s) =>
    encodeURIComponent(s)
      .replace(/%(24|26|2B|2C|3B|3D|3A|40)/g, (m) => decodeURIComponent(m))
      .replace(/'/g, '%27'),
];

const segment = fc
  .tuple(rawText(12), fc.nat(SEGMENT_ENCODERS.length - 1))
  .map(([raw, i]) => SEGMENT_ENCODERS[i](raw))
  // `.` and `..` segments are resolved by WHATWG clients before sending; the signer refuses them.
  .filter((s) => s !== '.' && s !== '..');

const path: fc.Arbitrary<string> = fc.oneof(
  fc.constant('/v2/0123456789abcdef0123456789abcdef/notifications/sms/callback'),
  fc.tuple(fc.array(segment, { maxLength: 5 }), fc.boolean()).map(([segments, trailingSlash]) => {
    const p = `/${segments.join('/')}`;
    return trailingSlash && !p.endsWith('/') ? `${p}/` : p;
  }),
);

const label = fc.string({ unit: chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), minLength: 1, maxLength: 10 });
const hostname = fc.oneof(
  fc.constantFrom('smn.cn-north-4.myhuaweicloud.com', 'smn.eu-west-101.myhuaweicloud.eu', '127.0.0.1', '[::1]', 'localhost'),
  fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.')),
);

const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom('event_type', 'a', 'A', 'limit', ''), rawText(10)), rawText(12)), { maxLength: 6 });

const headerValue = fc
  .string({
    unit: fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }, fc.constant('\t')),
    maxLength: 24,
  })
  // Leading/trailing whitespace: we trim (as servers do), the official signer does not.
  .map((v) => v.replace(/^[ \t]+|[ \t]+$/g, ''));

const RESERVED_HEADERS = new Set(['host', 'authorization', 'x-sdk-date', 'x-security-token', 'x-sdk-content-sha256', 'x-project-id', 'content-type']);
const randomCase = (name: string, flips: boolean[]): string => [...name].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join('');

// Names use [a-z0-9-] in any letter case: with `_` the official signer orders its two header lists
// differently (lodash sortBy vs localeCompare), which a server cannot verify anyway.
const customHeaders = fc
  .uniqueArray(
    fc.tuple(
      fc.string({ unit: chars('abcdefghijklmnopqrstuvwxyz0123456789-'), minLength: 1, maxLength: 12 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
      headerValue,
    ),
    { selector: ([name]) => `x-${name}`, maxLength: 4 },
  )
  .map((entries) =>
    entries.filter(([name]) => !RESERVED_HEADERS.has(`x-${name}`)).map(([name, flips, value]) => [randomCase(`x-${name}`, flips), value] as const),
  );

const headers: fc.Arbitrary<Record<string, string>> = fc
  .record({
    contentType: fc.option(fc.constantFrom('application/json', 'application/json;charset=UTF-8', 'text/plain'), { nil: undefined }),
    contentTypeKey: fc.constantFrom('content-type', 'Content-Type'),
    projectId: fc.option(fc.stringMatching(/^[0-9a-f]{32}$/), { nil: undefined }),
    projectIdKey: fc.constantFrom('X-Project-Id', 'x-project-id'),
    // The official signer honours only this exact spelling of the key.
    unsignedPayload: fc.boolean(),
    custom: customHeaders,
  })
  .map(({ contentType, contentTypeKey, projectId, projectIdKey, unsignedPayload, custom }) => {
    const h: Record<string, string> = {};
    if (contentType !== undefined) h[contentTypeKey] = contentType;
    if (projectId !== undefined) h[projectIdKey] = projectId;
    if (unsignedPayload) h['X-Sdk-Content-Sha256'] = 'UNSIGNED-PAYLOAD';
    for (const [name, value] of custom) h[name] = value;
    return h;
  });

// Objects and arrays only: the BFF sends JSON documents, and the official signer skips hashing falsy
// data (0, false, '', null) and hashes a string as a quoted JSON string.
const body: fc.Arbitrary<JsonBody | undefined> = fc.option(
  fc.oneof(
    fc.dictionary(rawText(8), fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), { maxKeys: 5 }),
    fc.array(fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), { maxLength: 5 }),
  ),
  { nil: undefined },
);

export const signCase: fc.Arbitrary<SignCase> = fc
  .record({
    method: fc.constantFrom(...METHODS),
    scheme: fc.constantFrom('https' as const, 'http' as const),
    hostname,
    upperHost: fc.boolean(),
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    path,
    query,
    queryEncoding: fc.constantFrom('form' as const, 'strict' as const, 'strict-lower-hex' as const, 'component' as const),
    headers,
    securityToken: fc.option(
      fc.record({ value: fc.stringMatching(/^[A-Za-z0-9+/=_-]{1,40}$/), via: fc.constantFrom('credentials' as const, 'header' as const) }),
      { nil: undefined },
    ),
    body,
    bodyAsBuffer: fc.boolean(),
    now: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }),
    ak: fc.stringMatching(/^[A-Z0-9]{1,40}$/),
    sk: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  })
  // The official signer signs an explicit default port (`:443`); clients omit it from Host.
  .filter(({ scheme, port }) => port !== (scheme === 'https' ? 443 : 80))
  .map(({ hostname: h, upperHost, port, ...rest }) => ({
    ...rest,
    authority: `${upperHost ? h.toUpperCase() : h}${port === undefined ? '' : `:${port}`}`,
  }));

export function encodeQuery(pairs: Array<[string, string]>, encoding: SignCase['queryEncoding']): string {
  switch (encoding) {
    case 'form':
      return new URLSearchParams(pairs).toString();
    case 'strict':
      return pairs.map(([k, v]) => `${strictEncode(k)}=${strictEncode(v)}`).join('&');
    case 'strict-lower-hex':
      return pairs.map(([k, v]) => `${strictEncode(k, true)}=${strictEncode(v, true)}`).join('&');
    case 'component':
      return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  }
}

export function toSignable(c: SignCase): SignableRequest {
  const q = encodeQuery(c.query, c.queryEncoding);
  const headers = { ...c.headers };
  if (c.securityToken?.via === 'header') headers['x-security-token'] = c.securityToken.value;
  const json = c.body === undefined ? undefined : JSON.stringify(c.body);
  return {
    method: c.method,
    url: `${c.scheme}://${c.authority}${c.path}${q === '' ? '' : `?${q}`}`,
    headers,
    body: json !== undefined && c.bodyAsBuffer ? Buffer.from(json, 'utf8') : json,
  };
}

export function credentialsOf(c: SignCase): { ak: string; sk: string; securityToken?: string } {
  return c.securityToken?.via === 'credentials' ? { ak: c.ak, sk: c.sk, securityToken: c.securityToken.value } : { ak: c.ak, sk: c.sk };
}
