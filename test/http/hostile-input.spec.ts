import fc from 'fast-check';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { CALLBACK_PATH, DEV_KEY, Harness, PROJECT_ID, REGION, SEED_BODY, startHarness, urn } from '../support/bff-harness';
import { emulatorRequests, resetEmulator } from '../support/emulator-admin';

/**
 * Hostile input at the raw HTTP layer: thousands of generated requests, every one of them invalid, against one
 * running BFF. Whatever arrives, the answer is a 4xx in the one envelope with a request id, in this service's
 * own words (nothing of the request quoted back), and nothing reaches SMN (README, Errors).
 */

const SEED = 20_261_201;
const RUNS = 5_200;
const CONCURRENCY = 12;

/** A request that cannot be valid, built around a marker string that must never come back in an answer. */
interface Generated {
  kind: Kind;
  build(marker: string): Buffer;
}

type Kind = 'malformed-json' | 'wrong-types' | 'framing' | 'path' | 'query' | 'headers' | 'method' | 'prototype-names' | 'encodings' | 'oversize';

const OTHER_PROJECT = '0123456789abcdef0123456789abcdef';
const PROTOTYPE_NAMES = [...new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__', 'prototype'])];

// ---------------------------------------------------------------------------------------------------------
// Building requests

interface RequestParts {
  method?: string;
  target?: string;
  /** Header lines without CRLF; Host and Connection: close are added unless `raw` says otherwise. */
  headers?: string[];
  body?: string | Buffer;
  /** Leave out the Content-Length that a body would get. */
  noLength?: boolean;
}

function http1(parts: RequestParts): Buffer {
  const body = parts.body === undefined ? undefined : Buffer.isBuffer(parts.body) ? parts.body : Buffer.from(parts.body, 'utf8');
  const headers = ['Host: bff.test', ...(parts.headers ?? []), 'Connection: close'];
  if (body !== undefined && !parts.noLength) headers.push(`Content-Length: ${body.length}`);
  const head = `${parts.method ?? 'GET'} ${parts.target ?? CALLBACK_PATH} HTTP/1.1\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body ?? Buffer.alloc(0)]);
}

const KEY = `X-Api-Key: ${DEV_KEY}`;
const JSON_TYPE = 'Content-Type: application/json';
const put = (body: string | Buffer, headers: string[] = [KEY, JSON_TYPE]) => http1({ method: 'PUT', headers, body });
const seedWith = (mutate: (body: Record<string, unknown>, marker: string) => unknown) => (marker: string) =>
  put(JSON.stringify(mutate(structuredClone(SEED_BODY) as unknown as Record<string, unknown>, marker)));
const chunked = (body: string | Buffer, size = 1024) => {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const chunk = bytes.subarray(at, at + size);
    chunks.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
  }
  return Buffer.concat([...chunks, Buffer.from('0\r\n\r\n')]);
};

const generated = (kind: Kind) => (build: (marker: string) => Buffer) => ({ kind, build });

// ---------------------------------------------------------------------------------------------------------
// The classes

/** A JSON value of any type that is not a string (the right type of event_type and topic_urn). */
const notAString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

const malformedJson: fc.Arbitrary<Generated> = fc
  .oneof(
    fc.constantFrom<Array<(m: string) => string>>(
      (m) => `{"callback":[{"event_type":"${m}"`,
      (m) => `{"callback":[{"event_type":"sms_fail_event","topic_urn":"${m}",}]}`,
      (m) => `{'callback': '${m}'}`,
      (m) => `{"callback": NaN, "${m}": 1}`,
      (m) => `{"callback":[/* ${m} */]}`,
      (m) => `{callback:"${m}"}`,
      (m) => `"${m}`,
      (m) => m,
      (m) => `[${m}]`,
      (m) => `{"${m}":"\\uZZZZ"}`,
      (m) => `{"${m}":1}}`,
      (m) => `{"callback":[]}${m}`,
      (m) => `{"callback":"\u0001${m}"}`,
      (m) => `{"${m}": 1e99999999}`,
      (m) => `{"${m}"}`,
      (m) => `{"callback":[{"event_type":"sms_fail_event" "topic_urn":"${m}"}]}`,
      () => '',
      () => '   \r\n\t ',
    ),
    // Junk around the marker: text, and bytes that are not UTF-8.
    fc.tuple(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 })).map(
      ([a, b]) =>
        (m: string) =>
          `{${a}${m}${b}`,
    ),
    fc
      .uint8Array({ minLength: 1, maxLength: 120 })
      .map((bytes) => (m: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(bytes), Buffer.from(m)])),
    // Nested deeper than the 32 levels the parser allows.
    fc.tuple(fc.integer({ min: 33, max: 400 }), fc.boolean()).map(
      ([depth, objects]) =>
        (m: string) =>
          objects ? `${'{"a":'.repeat(depth)}"${m}"${'}'.repeat(depth)}` : `${'['.repeat(depth)}"${m}"${']'.repeat(depth)}`,
    ),
  )
  .map((body) => generated('malformed-json')((m) => put(body(m))));

const wrongTypes: fc.Arbitrary<Generated> = fc
  .oneof(
    notAString.map((value) => seedWith((b) => ({ ...b, callback: value }))),
    fc.constantFrom(
      seedWith((b, m) => ({ ...b, callback: m })),
      seedWith(() => ({ callback: [] })),
      seedWith(() => ({})),
      seedWith((_, m) => [m]),
      seedWith((_, m) => m),
      seedWith((b, m) => ({ ...b, [m]: true })),
      seedWith((b) => ({ callback: [...(b.callback as unknown[]), (b.callback as unknown[])[0]] })),
      seedWith((b) => ({ callback: [(b.callback as unknown[])[0], (b.callback as unknown[])[0]] })),
      seedWith((_, m) => ({ callback: [{ event_type: 'sms_fail_event', topic_urn: urn(m, OTHER_PROJECT) }] })),
      seedWith((_, m) => ({ callback: [{ event_type: 'sms_fail_event', topic_urn: urn(m, PROJECT_ID, 'eu-west-0') }] })),
      seedWith((_, m) => ({ callback: [{ event_type: 'sms_reply_event', topic_urn: urn(`-${m}`) }] })),
      seedWith((_, m) => ({ callback: [{ event_type: 'sms_reply_event', topic_urn: urn(`${m}${'a'.repeat(256)}`) }] })),
      seedWith((_, m) => ({ callback: [{ event_type: 'sms_reply_event', topic_urn: `urn:smn:${REGION}:${PROJECT_ID}:${m}:extra` }] })),
      seedWith((_, m) => ({ callback: [{ event_type: 'sms_success_event', topic_urn: m }] })),
      seedWith((_, m) => ({ callback: [{ event_type: m, topic_urn: '' }] })),
      seedWith((_, m) => ({ callback: [{ event_type: 'sms_fail_event' }], [m]: 1 })),
      seedWith((_, m) => ({ callback: [{ event_type: 'sms_fail_event', topic_urn: '', [m]: 1 }] })),
      seedWith((_, m) => ({ callback: [m, m] })),
    ),
    fc.tuple(fc.constantFrom('event_type', 'topic_urn'), fc.integer({ min: 0, max: 2 }), notAString).map(([field, index, value]) =>
      seedWith((b) => {
        const items = b.callback as Array<Record<string, unknown>>;
        items[index] = { ...items[index], [field]: value };
        return b;
      }),
    ),
    fc.tuple(fc.integer({ min: 0, max: 2 }), notAString).map(([index, value]) =>
      seedWith((b) => {
        (b.callback as unknown[])[index] = value;
        return b;
      }),
    ),
    fc
      .integer({ min: 4, max: 200 })
      .map((n) => seedWith((_, m) => ({ callback: Array.from({ length: n }, (__, i) => ({ event_type: 'sms_fail_event', topic_urn: urn(`${m}${i}`) })) }))),
  )
  .map((build) => generated('wrong-types')(build));

/** Framing Node must refuse or read safely; each targets a request that is invalid even when it is read. */
const framing: fc.Arbitrary<Generated> = fc
  .constantFrom<Array<(m: string) => string | Buffer>>(
    (m) =>
      `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\n${KEY}\r\n${JSON_TYPE}\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{"${m}"\r\n0\r\n\r\n`,
    (m) =>
      `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\n${KEY}\r\n${JSON_TYPE}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZ\r\n${m}\r\n0\r\n\r\n`,
    (m) =>
      `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\n${KEY}\r\n${JSON_TYPE}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2;${m}=1\r\n{}\r\n0\r\n\r\n`,
    (m) =>
      `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\n${KEY}\r\n${JSON_TYPE}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n${m}: t\r\n\r\n`,
    (m) => `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\n${KEY}\r\n${JSON_TYPE}\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}${m}`,
    (m) => `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\n${KEY}\r\n${JSON_TYPE}\r\nContent-Length: -2\r\nConnection: close\r\n\r\n{}${m}`,
    (m) => `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\n${KEY}\r\n${JSON_TYPE}\r\nContent-Length: 2${m}\r\nConnection: close\r\n\r\n{}`,
    (m) => `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\n${KEY}\r\n${JSON_TYPE}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}GET /${m} HTTP/1.1\r\n\r\n`,
    (m) =>
      `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\n${KEY}\r\n${JSON_TYPE}\r\nTransfer-Encoding: chunked, ${m}\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    (m) => `GET /v2/${m}/notifications/sms/callback HTTP/1.1\nHost: x\nConnection: close\n\n`,
    (m) => `GET /v2/${m}/notifications/sms/callback HTTP/1.1\r\nHost: x\r\nX-A: b\r\n ${m}\r\nConnection: close\r\n\r\n`,
    (m) => `GET /v2/${m}/notifications/sms/callback HTTP/1.1\r\nHost: x\r\nX-A: a\0${m}\r\nConnection: close\r\n\r\n`,
    (m) => `GET ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\nX-${m} : v\r\nConnection: close\r\n\r\n`,
    (m) => `GET ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\nX-${m}(): v\r\nConnection: close\r\n\r\n`,
    (m) => `GET ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\n${m}\r\nConnection: close\r\n\r\n`,
    (m) => `GET  /v2/${m} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    (m) => `GET\t/v2/${m}\tHTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    (m) => `GET /v2/${m} HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n`,
    (m) => `GET /v2/${m} http/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    (m) => `GET /v2/${m} HTTP/1.1 extra\r\nHost: x\r\nConnection: close\r\n\r\n`,
    (m) => `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${m}`,
    (m) => `GET ${CALLBACK_PATH}?${m} HTTP/1.1\r\nConnection: close\r\n\r\n`,
    (m) => `GET /v2/${m}/notifications/sms/callback HTTP/1.0\r\n\r\n`,
    (m) => `${m}\r\n\r\n`,
    (m) => `\r\n\r\nGET /v2/${m} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    (m) => Buffer.concat([Buffer.from(`GET /v2/${m} HTTP/1.1\r\nHost: `), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('\r\nConnection: close\r\n\r\n')]),
    (m) => `GET /v2/${m} HTTP/1.1\r\nHost: x\r\nExpect: ${m}\r\n\r\n`,
    (m) => `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\n${KEY}\r\n${JSON_TYPE}\r\nExpect: 100-${m}\r\nContent-Length: 2\r\n\r\n{}`,
    (m) => `CONNECT ${m}.example:443 HTTP/1.1\r\nHost: ${m}.example:443\r\n\r\n`,
    (m) => `GET /v2/${m} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ${m}\r\n\r\n`,
  )
  .map((build) => generated('framing')((m) => Buffer.from(build(m) as string, 'latin1')));

const badProjectIds = (m: string) => [
  m,
  `${PROJECT_ID.toUpperCase()}${m}`,
  `${PROJECT_ID.slice(1)}${m}`,
  `%2e%2e%2f${m}`,
  `${m}%00`,
  `${m}%2F..%2F`,
  `%C3%A9${m}`,
  `..%2f..%2f${m}`,
  `${PROJECT_ID}%20${m}`,
  `${m};jsessionid=1`,
  `%${m}`,
];

const paths: fc.Arbitrary<Generated> = fc
  .oneof(
    fc.tuple(fc.integer({ min: 0, max: 10 }), fc.constantFrom('GET', 'PUT')).map(
      ([i, method]) =>
        (m: string) =>
          http1({
            method,
            target: `/v2/${badProjectIds(m)[i]}/notifications/sms/callback`,
            headers: [KEY, JSON_TYPE],
            body: method === 'PUT' ? '{}' : undefined,
          }),
    ),
    fc.constantFrom<Array<(m: string) => Buffer>>(
      (m) => http1({ target: `${CALLBACK_PATH}/${m}`, headers: [KEY] }),
      (m) => http1({ target: `/v2/${PROJECT_ID}/notifications/sms/${m}`, headers: [KEY] }),
      (m) => http1({ target: `/V2/${PROJECT_ID}/notifications/sms/callback?${m}`, headers: [KEY] }),
      (m) => http1({ target: `//v2/${PROJECT_ID}/notifications/sms/callback?${m}`, headers: [KEY] }),
      (m) => http1({ target: `/v2/${PROJECT_ID}//notifications/sms/callback?${m}`, headers: [KEY] }),
      (m) => http1({ target: `/${m}`, headers: [KEY] }),
      (m) => http1({ target: `/docs/${m}`, headers: [KEY] }),
      (m) => http1({ target: `/docs/..%2f..%2f${m}`, headers: [KEY] }),
      (m) => http1({ target: `/health/${m}`, headers: [KEY] }),
      (m) => http1({ target: `/_emulator/requests?${m}`, headers: [KEY] }),
      (m) => http1({ target: `/audit/${m}`, headers: [KEY] }),
      (m) => http1({ target: `/v2/%ZZ${m}/notifications/sms/callback`, headers: [KEY] }),
      (m) => http1({ target: `/v2/${m}${'a'.repeat(1_100)}/notifications/sms/callback`, headers: [KEY] }),
      (m) => http1({ target: `http://${m}.example/v2/${m}/notifications/sms/callback`, headers: [KEY] }),
      (m) => http1({ target: `*${m}`, headers: [KEY] }),
      (m) => http1({ target: `${m}`, headers: [KEY] }),
    ),
  )
  .map((build) => generated('path')(build));

const queries: fc.Arbitrary<Generated> = fc
  .constantFrom<Array<(m: string) => string>>(
    (m) => `event_type=${m}`,
    (m) => `event_type=sms_fail_event&event_type=${m}`,
    (m) => `event_type[]=${m}`,
    (m) => `event_type[${m}]=sms_fail_event`,
    (m) => `${m}=1`,
    (m) => `event_type=sms_fail_event&${m}`,
    (m) => `api_key=${m}`,
    (m) => `apiKey=${m}`,
    (m) => `access_token=${m}`,
    (m) => `event_type=%ZZ${m}`,
    (m) => `%${m}`,
    (m) => `event_type=${m}${'x'.repeat(2_000)}`,
    (m) => Array.from({ length: 300 }, (_, i) => `${m}${i}=1`).join('&'),
    (m) => `event_type=sms_fail_event%00${m}`,
    (m) => `event_type=sms_fail_event;${m}`,
  )
  .chain((query) =>
    fc.constantFrom(
      generated('query')((m) => http1({ target: `${CALLBACK_PATH}?${query(m)}`, headers: [KEY] })),
      generated('query')((m) => http1({ target: `/audit/events?${query(m)}`, headers: [KEY] })),
      generated('query')((m) => http1({ target: `/audit/events?project_id=${m}&${query(m)}`, headers: [KEY] })),
    ),
  );

/** Decorations that never make a request valid, sent with credentials that are wrong, doubled or absent. */
const decorations = fc.subarray(
  [
    (m: string) => `X-Request-Id: <${m}>`,
    (m: string) => `X-Request-Id: ${m}${'a'.repeat(200)}`,
    (m: string) => `If-Match: "${m}"`,
    (m: string) => `traceparent: 00-${m}-01`,
    (m: string) => `X-Forwarded-For: ${m}, 10.0.0.1`,
    (m: string) => `User-Agent: ${m}`,
    (m: string) => `Cookie: session=${m}`,
    (m: string) => `Origin: https://${m}.example`,
    (m: string) => `Accept: ${m}/x`,
    (m: string) => `Accept-Language: ${m}`,
    (m: string) => `Range: bytes=${m}`,
    (m: string) => `X-Sdk-Date: ${m}`,
    (m: string) => `Forwarded: for=${m}`,
  ],
  { maxLength: 4 },
);
const wrongCredentials = fc.constantFrom<Array<(m: string) => string[]>>(
  (m) => [`X-Api-Key: ${m}`],
  (m) => [`X-Api-Key: ${DEV_KEY}${m}`],
  (m) => [`X-Api-Key: ${m}`, KEY],
  (m) => [`Authorization: Bearer ${m}`],
  (m) => [`Authorization: Bearer eyJhbGciOiJub25lIn0.${Buffer.from(m).toString('base64url')}.`],
  (m) => [`Authorization: Basic ${Buffer.from(`${m}:${m}`).toString('base64')}`],
  (m) => [`Authorization: Bearer ${m}`, KEY],
  (m) => [`Authorization: SDK-HMAC-SHA256 Access=${m}, SignedHeaders=host;x-sdk-date, Signature=00`, 'X-Sdk-Date: 20260101T000000Z'],
  (m) => [`Authorization: ${m}`],
  () => [],
);
const headerTricks: fc.Arbitrary<Generated> = fc.tuple(wrongCredentials, decorations, fc.constantFrom('GET', 'PUT')).map(([credentials, extra, method]) =>
  generated('headers')((m) =>
    http1({
      method,
      headers: [...credentials(m), ...extra.map((line) => line(m)), ...(method === 'PUT' ? [JSON_TYPE] : [])],
      body: method === 'PUT' ? JSON.stringify(SEED_BODY) : undefined,
    }),
  ),
);

const methods: fc.Arbitrary<Generated> = fc
  .constantFrom('POST', 'DELETE', 'PATCH', 'TRACE', 'PROPFIND', 'MKCOL', 'LOCK', 'OPTIONS', 'SEARCH', 'get', 'Put', 'FOO', 'G E T', 'PURGE', 'QUERY', 'LINK')
  .chain((method) =>
    fc.constantFrom(
      generated('method')((m) => http1({ method, target: `${CALLBACK_PATH}?${m}`, headers: [KEY, JSON_TYPE], body: JSON.stringify(SEED_BODY) })),
      generated('method')((m) => http1({ method, target: `/audit/events?project_id=${m}`, headers: [KEY] })),
      generated('method')((m) => http1({ method: `${method}${m.toUpperCase()}`, headers: [KEY] })),
    ),
  );

const prototypeNames: fc.Arbitrary<Generated> = fc.tuple(fc.constantFrom(...PROTOTYPE_NAMES), fc.integer({ min: 0, max: 5 })).map(([name, where]) =>
  generated('prototype-names')((m) => {
    const key = JSON.stringify(name);
    const items = JSON.stringify(SEED_BODY.callback);
    switch (where) {
      case 0:
        return put(`{"callback":${items},${key}:"${m}"}`);
      case 1:
        return put(`{"callback":[{"event_type":"sms_fail_event","topic_urn":"",${key}:"${m}"}]}`);
      case 2:
        return put(`{${key}:{"${m}":1},"callback":${items}}`);
      case 3:
        return put(`{"callback":${items},"constructor":{"prototype":{"${m}":1}},${key}:1}`);
      case 4:
        return http1({ target: `${CALLBACK_PATH}?${encodeURIComponent(name)}=${m}`, headers: [KEY] });
      default:
        return http1({ target: `${CALLBACK_PATH}?${encodeURIComponent(name)}[${m}]=1`, headers: [KEY] });
    }
  }),
);

/** A valid body in an encoding or media type this API refuses: only the encoding is wrong. */
const encodings: fc.Arbitrary<Generated> = fc
  .constantFrom<Array<(m: string) => Buffer>>(
    () => put(gzipSync(JSON.stringify(SEED_BODY)), [KEY, JSON_TYPE, 'Content-Encoding: gzip']),
    (m) => put(JSON.stringify(SEED_BODY), [KEY, JSON_TYPE, `Content-Encoding: ${m}`]),
    () => put(JSON.stringify(SEED_BODY), [KEY, JSON_TYPE, 'Content-Encoding: br']),
    () => put(JSON.stringify(SEED_BODY), [KEY, JSON_TYPE, 'Content-Encoding: deflate']),
    () => put(JSON.stringify(SEED_BODY), [KEY, JSON_TYPE, 'Content-Encoding: identity, gzip']),
    () => put(JSON.stringify(SEED_BODY), [KEY, 'Content-Type: application/json; charset=latin1']),
    () => put(JSON.stringify(SEED_BODY), [KEY, 'Content-Type: application/json; charset=ISO-8859-1']),
    () => put(Buffer.from(JSON.stringify(SEED_BODY), 'utf16le'), [KEY, 'Content-Type: application/json; charset=utf-16le']),
    () => put(JSON.stringify(SEED_BODY), [KEY, 'Content-Type: application/json; charset=us-ascii']),
    (m) => put(JSON.stringify(SEED_BODY), [KEY, `Content-Type: application/json; charset=${m}`]),
    (m) => put(JSON.stringify(SEED_BODY), [KEY, `Content-Type: application/json; charset="${m}"`]),
    () => put(JSON.stringify(SEED_BODY), [KEY, 'Content-Type: text/plain']),
    () => put(JSON.stringify(SEED_BODY), [KEY, 'Content-Type: text/json']),
    () => put(JSON.stringify(SEED_BODY), [KEY, 'Content-Type: application/x-www-form-urlencoded']),
    (m) => put(JSON.stringify(SEED_BODY), [KEY, `Content-Type: multipart/form-data; boundary=${m}`]),
    (m) => put(JSON.stringify(SEED_BODY), [KEY, `Content-Type: application/json${m}`]),
    (m) => put(JSON.stringify(SEED_BODY), [KEY, `Content-Type: application/${m}+json`]),
    (m) => put(JSON.stringify(SEED_BODY), [KEY, `Content-Type: ${m}`]),
    () => put(JSON.stringify(SEED_BODY), [KEY]),
    () =>
      http1({
        method: 'PUT',
        headers: [KEY, JSON_TYPE, 'Transfer-Encoding: gzip, chunked'],
        body: chunked(gzipSync(JSON.stringify(SEED_BODY))),
        noLength: true,
      }),
  )
  .map((build) => generated('encodings')(build));

const oversize: fc.Arbitrary<Generated> = fc
  .oneof(
    fc
      .integer({ min: 64 * 1024 + 1, max: 1_000_000_000 })
      .map((length) => (m: string) => http1({ method: 'PUT', headers: [KEY, JSON_TYPE, `Content-Length: ${length}`], body: `{"${m}":`, noLength: true })),
    fc.integer({ min: 64 * 1024 + 1, max: 80 * 1024 }).map((size) => (m: string) => put(`{"${m}":"${'x'.repeat(size)}"}`)),
    fc.integer({ min: 64 * 1024 + 1, max: 80 * 1024 }).map(
      (size) => (m: string) =>
        http1({
          method: 'PUT',
          headers: [KEY, JSON_TYPE, 'Transfer-Encoding: chunked'],
          body: chunked(`{"${m}":"${'x'.repeat(size)}"}`, 8 * 1024),
          noLength: true,
        }),
    ),
    fc.integer({ min: 33 * 1024, max: 48 * 1024 }).map((size) => (m: string) => http1({ headers: [KEY, `X-Big: ${m}${'b'.repeat(size)}`] })),
    fc.integer({ min: 33 * 1024, max: 48 * 1024 }).map((size) => (m: string) => http1({ target: `${CALLBACK_PATH}?${m}=${'q'.repeat(size)}`, headers: [KEY] })),
    fc
      .integer({ min: 100, max: 1_500 })
      .map((n) => (m: string) => http1({ headers: [`X-Api-Key: ${m}`, ...Array.from({ length: n }, (_, i) => `X-H${i}: ${m}`)] })),
    fc.integer({ min: 1_000, max: 9_000 }).map((n) => (m: string) => put(`{"callback":[${Array.from({ length: n }, () => `"${m}"`).join(',')}]}`)),
    fc
      .integer({ min: 10_000, max: 60_000 })
      .map((size) => (m: string) => put(`{"callback":[{"event_type":"sms_fail_event","topic_urn":"${m}${'u'.repeat(size)}"}]}`)),
  )
  .map((build) => generated('oversize')(build));

const hostileRequest: fc.Arbitrary<Generated> = fc.oneof(
  { arbitrary: malformedJson, weight: 3 },
  { arbitrary: wrongTypes, weight: 3 },
  { arbitrary: framing, weight: 2 },
  { arbitrary: paths, weight: 2 },
  { arbitrary: queries, weight: 2 },
  { arbitrary: headerTricks, weight: 2 },
  { arbitrary: methods, weight: 2 },
  { arbitrary: prototypeNames, weight: 2 },
  { arbitrary: encodings, weight: 2 },
  { arbitrary: oversize, weight: 1 },
);

// ---------------------------------------------------------------------------------------------------------
// Sending and reading

interface Answer {
  status: number;
  statusLine: string;
  headers: Record<string, string>;
  body: string;
}

/** Sends the bytes on a fresh connection and reads one answer (or what came before the connection closed). */
function exchange(port: number, bytes: Buffer): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseAnswer(Buffer.concat(chunks)));
    };
    // Nothing generated is left incomplete: an answer that takes this long is a failure, reported as none.
    const timer = setTimeout(settle, 8_000);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (complete(Buffer.concat(chunks))) settle();
    });
    // The server may refuse (413, 431) and close while the rest is still being written.
    socket.on('error', () => undefined);
    socket.on('close', settle);
  });
}

function splitHead(raw: Buffer): { head: string; rest: Buffer } | undefined {
  const end = raw.indexOf('\r\n\r\n');
  return end < 0 ? undefined : { head: raw.subarray(0, end).toString('latin1'), rest: raw.subarray(end + 4) };
}

function headersOf(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const at = line.indexOf(':');
    headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return headers;
}

function complete(raw: Buffer): boolean {
  const split = splitHead(raw);
  if (!split) return false;
  const headers = headersOf(split.head);
  if (headers['content-length'] !== undefined) return split.rest.length >= Number(headers['content-length']);
  if (headers['transfer-encoding'] === 'chunked') return split.rest.includes('\r\n0\r\n\r\n') || split.rest.subarray(0, 5).toString() === '0\r\n\r\n';
  return false;
}

function parseAnswer(raw: Buffer): Answer | undefined {
  const split = splitHead(raw);
  if (!split) return undefined;
  const statusLine = split.head.split('\r\n', 1)[0];
  const headers = headersOf(split.head);
  let body = split.rest;
  if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    for (let at = 0; ;) {
      const lineEnd = body.indexOf('\r\n', at);
      const size = parseInt(body.subarray(at, lineEnd).toString(), 16);
      if (!size) break;
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    body = body.subarray(0, Number(headers['content-length']));
  }
  return { status: Number(statusLine.split(' ')[1]), statusLine, headers, body: body.toString('utf8') };
}

/** Everything wrong with one answer, by the rules of the envelope (README, Errors). */
function problemsOf(answer: Answer | undefined, marker: string): string[] {
  if (!answer) return ['no answer'];
  const problems: string[] = [];
  if (!(answer.status >= 400 && answer.status < 500)) problems.push(`status ${answer.status}`);
  const requestId = answer.headers['x-request-id'];
  if (!/^[0-9a-f]{32}$/.test(requestId ?? '')) problems.push(`x-request-id ${requestId}`);
  if (!/^application\/json/.test(answer.headers['content-type'] ?? '')) problems.push(`content-type ${answer.headers['content-type']}`);
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    problems.push(`body not JSON: ${answer.body.slice(0, 200)}`);
  }
  if (body) {
    const extra = Object.keys(body).filter((key) => !['request_id', 'code', 'message', 'errors'].includes(key));
    if (extra.length) problems.push(`keys ${extra.join(',')}`);
    if (body.request_id !== requestId) problems.push(`request_id ${String(body.request_id)} ≠ header`);
    if (typeof body.code !== 'string' || !/^(BFF\.[A-Z_]+|SMN\.\d{4})$/.test(body.code)) problems.push(`code ${String(body.code)}`);
    if (typeof body.message !== 'string' || !body.message || /FST_|fastify|nest/i.test(body.message)) problems.push(`message ${String(body.message)}`);
    const errors = (body.errors ?? []) as Array<{ field?: unknown; message?: unknown }>;
    // A field path may name the unknown property that was sent (that is what makes the error precise); a
    // message never repeats what was sent.
    const said = [answer.statusLine, ...Object.values(answer.headers), String(body.message), ...errors.map((e) => String(e.message))].join('\n');
    if (said.toLowerCase().includes(marker)) problems.push('the request is quoted back');
  }
  return problems;
}

async function inParallel<T>(items: T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index], index);
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------

describe('hostile input at the HTTP layer', () => {
  let harness: Harness;
  let port: number;
  beforeAll(async () => {
    harness = await startHarness({
      // Budgets out of the way: every request must reach the rule that refuses it, not the rate limit.
      RATE_LIMIT_CALLER_LIMIT: '1000000',
      RATE_LIMIT_ANONYMOUS_LIMIT: '1000000',
      LOG_LEVEL: 'warn',
    });
    port = Number(new URL(harness.url).port);
    await resetEmulator(harness.emulator);
  });
  afterAll(() => harness?.close());

  it(`answers ${RUNS} generated invalid requests with a 4xx in the envelope, quoting nothing, forwarding nothing`, async () => {
    const cases = fc.sample(hostileRequest, { seed: SEED, numRuns: RUNS });
    const failures: string[] = [];
    const byKind = new Map<Kind, number>();
    const byStatus = new Map<number, number>();

    await inParallel(cases, CONCURRENCY, async ({ kind, build }, index) => {
      // Letters no request id or date contains, checked case-insensitively: unique to this request.
      const marker = `qzmark${index.toString(36)}x`;
      const bytes = build(marker);
      const answer = await exchange(port, bytes);
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      if (answer) byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
      const problems = problemsOf(answer, marker);
      if (problems.length) {
        failures.push(
          `#${index} ${kind}: ${problems.join('; ')}\n  sent: ${JSON.stringify(bytes.subarray(0, 300).toString('latin1'))}\n  got: ${answer?.statusLine} ${answer?.body.slice(0, 300)}`,
        );
      }
    });

    expect(failures.slice(0, 10)).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(5_000);
    // Every class was exercised, and more than a handful of times.
    for (const kind of [
      'malformed-json',
      'wrong-types',
      'framing',
      'path',
      'query',
      'headers',
      'method',
      'prototype-names',
      'encodings',
      'oversize',
    ] as const) {
      expect([kind, byKind.get(kind) ?? 0]).toEqual([kind, expect.any(Number)]);
      expect(byKind.get(kind)).toBeGreaterThan(100);
    }
    expect([...byStatus.keys()].sort()).toEqual(expect.arrayContaining([400, 401, 404, 413, 415, 431]));
    // Not one of them reached SMN.
    expect(await emulatorRequests(harness.emulator)).toEqual([]);
    // Sized from the work: 5,200 requests, each refused PUT audited, take 10–15 s alone and twice that on a
    // busy machine.
  }, 300_000); // 5,200 requests: well under a minute alone, several on a machine busy with other suites
});
