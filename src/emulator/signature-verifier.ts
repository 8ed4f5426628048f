import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { APIG_AUTH_PREFIX } from './errors';

/**
 * Server side of Huawei's `SDK-HMAC-SHA256` request signing, written from the published algorithm
 * (Huawei's API request signing guide). It shares no code with any client signer on purpose: a bug
 * copied into both sides would verify itself.
 */

const AUTHORIZATION = /^SDK-HMAC-SHA256 Access=([^,\s]+), SignedHeaders=([a-z0-9\-_;]+), Signature=([0-9a-f]{64})$/;
const SDK_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** A request as it arrived on the wire. */
export interface SignedRequest {
  method: string;
  /** Path and query exactly as received (Node's `request.url`). */
  url: string;
  /** Header names in lower case, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body bytes; absent or empty when there is none. */
  body?: Buffer;
}

export interface VerifyOptions {
  /** The secret key of an access key, or undefined when the AK is unknown. */
  secretFor(accessKey: string): string | undefined;
  nowMs: number;
  clockSkewSeconds: number;
}

export type VerifyFailureReason = 'missing' | 'malformed' | 'bad-date' | 'expired' | 'unknown-ak' | 'mismatch';

export type VerifyResult =
  | { ok: true; accessKey: string }
  /** `accessKey` is the AK the Authorization header names, once it could be read. */
  | { ok: false; reason: VerifyFailureReason; message: string; accessKey?: string };

export function verifySignature(request: SignedRequest, options: VerifyOptions): VerifyResult {
  const authorization = single(request.headers.authorization);
  if (authorization === undefined) return fail('missing', 'Authorization not found');
  const parsed = AUTHORIZATION.exec(authorization);
  if (!parsed) return fail('malformed', 'Authorization format is invalid');
  const [, accessKey, signedHeaders, signature] = parsed;

  const sdkDate = single(request.headers['x-sdk-date']);
  if (sdkDate === undefined) return fail('bad-date', 'x-sdk-date not found', accessKey);
  const signedAtMs = parseSdkDate(sdkDate);
  if (signedAtMs === undefined) return fail('bad-date', 'x-sdk-date format is invalid', accessKey);
  if (Math.abs(options.nowMs - signedAtMs) > options.clockSkewSeconds * 1000) {
    // The wording observed from APIG, including its missing space after the comma.
    const serverTime = formatSdkDate(options.nowMs);
    return fail('expired', `calc aksk signature fail:signature expired, signature time:${sdkDate},server time:${serverTime}`, accessKey);
  }

  const secret = options.secretFor(accessKey);
  if (secret === undefined) return fail('unknown-ak', `ak ${accessKey} not exist`, accessKey);

  // The date must be covered by the signature, or a captured request could be replayed forever.
  if (!signedHeaders.split(';').includes('x-sdk-date')) return fail('mismatch', 'verify aksk signature fail', accessKey);

  const given = Buffer.from(signature, 'hex');
  // Only a path with escapes can canonicalise two ways, so only it pays for a second attempt.
  const pathForms = splitUrl(request.url).path.includes('%') ? [false, true] : [false];
  for (const decodePath of pathForms) {
    const canonical = canonicalRequest(request, signedHeaders, { decodePath });
    if (canonical === undefined) break;
    const expected = createHmac('sha256', secret).update(stringToSign(sdkDate, canonical)).digest();
    if (timingSafeEqual(expected, given)) return { ok: true, accessKey };
  }
  return fail('mismatch', 'verify aksk signature fail', accessKey);
}

/**
 * The canonical request (docs/upstream-smn.md §8.1, step 2), or undefined when a signed header is not in the request.
 * `decodePath` percent-decodes each path segment before encoding it (Python and Go clients);
 * without it the segment is encoded as received, as the Node SDK does.
 */
export function canonicalRequest(request: SignedRequest, signedHeaders: string, { decodePath = false }: { decodePath?: boolean } = {}): string | undefined {
  const { path, query } = splitUrl(request.url);

  let headerLines = '';
  for (const name of signedHeaders.split(';')) {
    const value = request.headers[name];
    if (value === undefined) return undefined;
    headerLines += `${name}:${(Array.isArray(value) ? value.join(',') : value).trim()}\n`;
  }

  const payloadHash = single(request.headers['x-sdk-content-sha256']) === UNSIGNED_PAYLOAD ? UNSIGNED_PAYLOAD : sha256Hex(request.body ?? Buffer.alloc(0));

  // headerLines ends with "\n", so the join leaves the blank line the algorithm specifies.
  return [request.method.toUpperCase(), canonicalUri(path, decodePath), canonicalQuery(query), headerLines, signedHeaders, payloadHash].join('\n');
}

export function stringToSign(sdkDate: string, canonical: string): string {
  return `SDK-HMAC-SHA256\n${sdkDate}\n${sha256Hex(canonical)}`;
}

/** RFC 3986 unreserved characters stay; everything else is UTF-8 percent-encoded, upper-case hex. */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalUri(path: string, decodeFirst: boolean): string {
  const uri = path
    .split('/')
    .map((segment) => encodeRfc3986(decodeFirst ? safeDecode(segment) : segment))
    .join('/');
  return uri.endsWith('/') ? uri : `${uri}/`;
}

/**
 * Built from decoded parameters, not from the raw query string: clients escape the wire query in
 * different ways (Node's querystring leaves `!'()*` alone) but all sign the decoded values.
 */
function canonicalQuery(query: string): string {
  if (query === '') return '';
  const params = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(query)) {
    const values = params.get(key);
    if (values) values.push(value);
    else params.set(key, [value]);
  }
  const pairs: string[] = [];
  for (const key of [...params.keys()].sort()) {
    for (const value of params.get(key)!.sort()) pairs.push(`${encodeRfc3986(key)}=${encodeRfc3986(value)}`);
  }
  return pairs.join('&');
}

function splitUrl(url: string): { path: string; query: string } {
  const queryAt = url.indexOf('?');
  return queryAt === -1 ? { path: url, query: '' } : { path: url.slice(0, queryAt), query: url.slice(queryAt + 1) };
}

function parseSdkDate(value: string): number | undefined {
  const m = SDK_DATE.exec(value);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  // Date.UTC rolls 2024-13-40 over into a real date; a round trip catches such values.
  return formatSdkDate(ms) === value ? ms : undefined;
}

export function formatSdkDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function fail(reason: VerifyFailureReason, detail: string, accessKey?: string): VerifyResult {
  return { ok: false, reason, message: APIG_AUTH_PREFIX + detail, accessKey };
}
