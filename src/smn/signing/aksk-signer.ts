import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/**
 * Huawei Cloud APIG request signing, `SDK-HMAC-SHA256` (docs/upstream-smn.md §8.1).
 *
 * Matches the official Node core signer (`@huaweicloud/huaweicloud-sdk-core` AKSKSigner) for every
 * request the BFF can send; test/signer/official-sdk-conformance.spec.ts proves it. Where we differ,
 * we follow what goes on the wire:
 * - `url` is the exact wire URL. Path segments are signed as written, each encoded once more, so
 *   `%7E` becomes `%257E`, as in the Node core. We throw on paths that an HTTP client would rewrite
 *   before sending (raw spaces or non-ASCII, a bad `%` escape, `.`/`..` segments), because the signature
 *   would then not match the path sent.
 * - The query is decoded like URLSearchParams (`+` is a space) and then canonicalised. Input encoded
 *   in any style therefore signs the same.
 * - `host` comes from the URL, lower-cased and without the scheme's default port, which is the Host
 *   header clients send. The Node core keeps an explicit `:443`. A caller's `host` header, in any
 *   case, wins, as the core's lower-case one does.
 * - Header values are trimmed of leading and trailing spaces and tabs, as in HWSIGN, Go and Python.
 *   Servers strip this whitespace too. The Node core does not trim.
 * - Header names are compared in lower case, and both header lists sort by UTF-16 code unit. The
 *   Node core sorts its canonical-header block with `localeCompare`; that only differs for names
 *   containing `_`.
 * - The body bytes are hashed as given. The Node core hashes `JSON.stringify(data)`, which gives the
 *   same hash for the compact JSON bodies we send. An `x-sdk-content-sha256` header (any case; the
 *   core only sees `X-Sdk-Content-Sha256`) replaces the hash with its value, normally `UNSIGNED-PAYLOAD`.
 * - The method is upper-cased; send it upper-case.
 */

export const SDK_SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface SignableRequest {
  /** Upper-case HTTP method, e.g. `GET`, `PUT`. */
  method: string;
  /** Absolute wire URL including the query, e.g. `https://smn.cn-north-4.myhuaweicloud.com/v2/<pid>/notifications/sms/callback?event_type=x`. */
  url: string;
  /** Headers to sign and send (lower-case names recommended), e.g. content-type, x-project-id. */
  headers: Record<string, string>;
  /** The exact bytes that will be sent; `''` or undefined for none. */
  body?: string | Buffer;
}

export interface AkSkCredentials {
  ak: string;
  sk: string;
  securityToken?: string;
}

/** A canonical request: path and query in wire form; headers is the complete set to sign. */
export interface CanonicalParts {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface CanonicalRequest {
  text: string;
  signedHeaders: string;
  payloadHash: string;
}

export type AkSkSigner = (request: SignableRequest, now?: Date) => Record<string, string>;

const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
const SAFE_PATH = /^[A-Za-z0-9\-._~/]*$/;
const WIRE_PATH = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?=\/|$)/i;
const ENCODE_EXTRA = /[!'()*]/g;
const ABSOLUTE_URL = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/;
const AUTHORITY = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d*))?$/;
const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443 };
const OWS_EDGES = /^[ \t]+|[ \t]+$/g;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const BAD_VALUE_CHAR = /[\r\n\0]/;

/**
 * Builds a signer with the HMAC key and the Authorization prefix precomputed.
 * Use it on the hot path; `signRequest` is the one-shot form.
 */
export function createAkSkSigner(credentials: AkSkCredentials): AkSkSigner {
  if (!credentials.ak || !credentials.sk) throw new TypeError('AK and SK must not be empty');
  const key = createSecretKey(Buffer.from(credentials.sk, 'utf8'));
  const prefix = `${SDK_SIGNING_ALGORITHM} Access=${credentials.ak}, SignedHeaders=`;
  const token = credentials.securityToken || undefined;
  return (request, now = new Date()) => sign(request, key, prefix, token, now);
}

/** Returns the headers to add: { 'X-Sdk-Date', 'Authorization' }, plus 'X-Security-Token' when given. */
export function signRequest(request: SignableRequest, credentials: AkSkCredentials, now?: Date): Record<string, string> {
  return createAkSkSigner(credentials)(request, now);
}

function sign(request: SignableRequest, key: KeyObject, prefix: string, token: string | undefined, now: Date): Record<string, string> {
  const sdkDate = formatSdkDate(now);
  const { authority, path, query } = splitUrl(request.url);
  const headers = normaliseHeaders(request.headers);
  if (headers.has('x-sdk-date') || headers.has('authorization')) {
    throw new TypeError('x-sdk-date and authorization are set by the signer, not by the caller');
  }
  if (!headers.has('host')) headers.set('host', authority);
  headers.set('x-sdk-date', sdkDate);
  if (token !== undefined) {
    const given = headers.get('x-security-token');
    if (given !== undefined && given !== token) throw new TypeError('x-security-token header differs from the credentials');
    headers.set('x-security-token', token);
  }
  const canonical = buildCanonical(request.method, path, query, headers, request.body);
  const signature = createHmac('sha256', key).update(stringToSign(sdkDate, canonical.text)).digest('hex');
  const out: Record<string, string> = {
    'X-Sdk-Date': sdkDate,
    Authorization: `${prefix}${canonical.signedHeaders}, Signature=${signature}`,
  };
  if (token !== undefined) out['X-Security-Token'] = token;
  return out;
}

/** Canonical request for explicit parts; `headers` is signed as given (no host or date added). */
export function canonicalRequest(parts: CanonicalParts): CanonicalRequest {
  return buildCanonical(parts.method, parts.path, parts.query, normaliseHeaders(parts.headers), parts.body);
}

/** `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex sha256 of the canonical request>`: no credential scope. */
export function stringToSign(sdkDate: string, canonicalRequestText: string): string {
  return `${SDK_SIGNING_ALGORITHM}\n${sdkDate}\n${sha256Hex(canonicalRequestText)}`;
}

/** `YYYYMMDDTHHMMSSZ` in UTC. */
export function formatSdkDate(now: Date): string {
  const iso = now.toISOString();
  if (iso.length !== 24) throw new RangeError(`date out of range for X-Sdk-Date: ${iso}`);
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/** Per path segment encoding, plus a trailing `/`. The segments are in wire form, so a `%` is encoded again. */
export function canonicalUri(path: string): string {
  if (path === '') return '/';
  if (!WIRE_PATH.test(path)) throw new TypeError(`path is not in wire form (percent-encode it first): ${path}`);
  // WHATWG clients resolve dot segments before sending, so a signature over them could never match.
  if (DOT_SEGMENT.test(path)) throw new TypeError(`path has a dot segment: ${path}`);
  const encoded = SAFE_PATH.test(path) ? path : path.split('/').map(uriEncode).join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

/** Decoded pairs sorted by key, then value (UTF-16 code units), each side re-encoded with `uriEncode`. */
export function canonicalQueryString(query: string): string {
  if (query === '') return '';
  const pairs: Array<[string, string]> = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    pairs.push(eq === -1 ? [formDecode(part), ''] : [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))]);
  }
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return pairs.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
}

/** RFC 3986 encoding: unreserved `A-Za-z0-9-._~` kept, everything else UTF-8 with upper-case hex. */
export function uriEncode(value: string): string {
  if (UNRESERVED.test(value)) return value;
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    throw new TypeError('cannot sign a string with a lone UTF-16 surrogate');
  }
  return encoded.replace(ENCODE_EXTRA, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function buildCanonical(method: string, path: string, query: string, headers: Map<string, string>, body: string | Buffer | undefined): CanonicalRequest {
  const names = [...headers.keys()].sort();
  let block = '';
  for (const name of names) block += `${name}:${headers.get(name)}\n`;
  const signedHeaders = names.join(';');
  const payloadHash = headers.get('x-sdk-content-sha256') || (body === undefined || body.length === 0 ? EMPTY_BODY_SHA256 : sha256Hex(body));
  const text = `${method.toUpperCase()}\n${canonicalUri(path)}\n${canonicalQueryString(query)}\n${block}\n${signedHeaders}\n${payloadHash}`;
  return { text, signedHeaders, payloadHash };
}

function normaliseHeaders(headers: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(lower)) throw new TypeError(`header name is not an HTTP token: ${name}`);
    if (out.has(lower)) throw new TypeError(`header ${lower} given twice`);
    if (BAD_VALUE_CHAR.test(value)) throw new TypeError(`header ${lower} has a line break or NUL`);
    out.set(lower, value.replace(OWS_EDGES, ''));
  }
  return out;
}

function splitUrl(url: string): { authority: string; path: string; query: string } {
  const parts = ABSOLUTE_URL.exec(url);
  const hostPort = parts && AUTHORITY.exec(parts[2]);
  if (!parts || !hostPort) throw new TypeError(`not an absolute URL with a plain host: ${url}`);
  const [, host, port] = hostPort;
  let authority = host.toLowerCase();
  if (port) {
    const n = Number(port);
    if (n > 65535) throw new TypeError(`bad port in ${url}`);
    if (n !== DEFAULT_PORTS[parts[1].toLowerCase()]) authority += `:${n}`;
  }
  return { authority, path: parts[3], query: parts[4] ?? '' };
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.includes('+') ? value.replace(/\+/g, ' ') : value);
  } catch {
    throw new TypeError(`malformed percent-encoding in query: ${value}`);
  }
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
