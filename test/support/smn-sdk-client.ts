// Test-only: the official core is a devDependency and must never be imported from src/.
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials';
import { HttpRequestBuilder } from '@huaweicloud/huaweicloud-sdk-core/http/IHttpRequestBuilder';
import { createHash } from 'node:crypto';

/**
 * Requests as the legacy SMN SDKs send them (docs/upstream-smn.md §7, §8): `Content-Type: application/json;
 * charset=UTF-8`, `X-Project-Id`, `X-Sdk-Date`, the JSON text exactly as their encoder writes it, signed
 * `SDK-HMAC-SHA256` by the official Node core's `AKSKSigner` (3.1.211). The core signs every header it is
 * given plus `host`; it hashes `JSON.stringify(data)`, which is the wire body for compact JSON. The legacy
 * SDKs hash the bytes they send, so for other spacing (Python's `json.dumps`) only that step is replaced: the
 * canonical request, string to sign and HMAC stay the core's.
 */

export interface Credentials {
  ak: string;
  sk: string;
}

export interface SdkRequest {
  method: 'GET' | 'PUT';
  /** Absolute URL with the query, e.g. `http://127.0.0.1:41234/v2/<pid>/notifications/sms/callback?event_type=sms_reply_event`. */
  url: string;
  /** The project the SDK was configured with; sent as `X-Project-Id`. */
  projectId: string;
  /** The JSON text as sent; none for a GET. */
  body?: string;
  /** Headers the SDK adds and signs besides content-type, x-project-id and x-sdk-date. */
  headers?: Record<string, string>;
  /** Signing time; default now. */
  at?: Date;
}

export const LEGACY_CONTENT_TYPE = 'application/json; charset=UTF-8';

/** `YYYYMMDDTHHMMSSZ`, computed independently of the signer under test. */
export const sdkDate = (at: Date): string =>
  at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');

/** The core's signer, hashing the body bytes as sent instead of `JSON.stringify(data)`. */
class WireBodySigner extends AKSKSigner {
  static override buildPayloadHash(request: { data?: unknown }): string {
    return createHash('sha256')
      .update(String(request.data ?? ''))
      .digest('hex');
  }
}

const isCompactJson = (text: string): boolean => {
  try {
    return JSON.stringify(JSON.parse(text)) === text;
  } catch {
    return false;
  }
};

/** The headers to send, `Authorization` included, as the official signer returns them (lower-case `host` left out: the URL sets it). */
export function signAsSdk(request: SdkRequest, credentials: Credentials): Record<string, string> {
  const url = new URL(request.url);
  const queryParams: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of url.searchParams) {
    const prev = queryParams[key];
    queryParams[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  const headers: Record<string, string> = {
    'Content-Type': LEGACY_CONTENT_TYPE,
    'X-Project-Id': request.projectId,
    ...request.headers,
    'X-Sdk-Date': sdkDate(request.at ?? new Date()),
  };
  const compact = request.body !== undefined && isCompactJson(request.body);
  const built = new HttpRequestBuilder()
    .withEndpoint(`${url.protocol}//${url.host}${url.pathname}`)
    .withMethod(request.method)
    .withHeaders(headers)
    .withQueryParams(queryParams)
    .withData(compact ? JSON.parse(request.body!) : request.body)
    .build();
  const credential = new BasicCredentials().withAk(credentials.ak).withSk(credentials.sk);
  const signed = (compact || request.body === undefined ? AKSKSigner : WireBodySigner).sign(built, credential) as Record<string, string>;
  const { host: _host, ...toSend } = signed;
  return toSend;
}

export interface SdkResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** Signs and sends `request`; `tamper` changes what goes on the wire after signing. */
export async function sendAsSdk(
  request: SdkRequest,
  credentials: Credentials,
  tamper: (wire: { url: string; headers: Record<string, string>; body?: string }) => void = () => {},
): Promise<SdkResponse> {
  const wire = { url: request.url, headers: signAsSdk(request, credentials), body: request.body };
  tamper(wire);
  const response = await fetch(wire.url, { method: request.method, headers: wire.headers, body: wire.body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
