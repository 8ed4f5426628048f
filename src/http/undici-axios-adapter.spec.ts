import { HttpService } from '@nestjs/axios';
import { SpanKind } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import axios, { AxiosError, AxiosInstance, CanceledError } from 'axios';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import pino from 'pino';
import { firstValueFrom } from 'rxjs';
import { Agent } from 'undici';
import { requestContext } from '../common/request-context';
import { Tracing } from '../tracing/tracing';
import { HttpConnectionError, HttpTimeoutError } from './outbound-http.errors';
import { createUndiciAxiosAdapter } from './undici-axios-adapter';

/** What the loopback server saw of one request. */
interface Seen {
  method?: string;
  url?: string;
  headers: IncomingMessage['headers'];
  body: string;
  remotePort?: number;
}

type Route = (req: IncomingMessage, res: ServerResponse) => void;

describe('undici axios adapter (real loopback server)', () => {
  let server: Server;
  let base: string;
  const sockets = new Set<Socket>();
  const seen: Seen[] = [];
  const routes = new Map<string, Route>();
  const logLines: Array<Record<string, unknown>> = [];
  let dispatcher: Agent;
  let client: AxiosInstance;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString(), remotePort: req.socket.remotePort });
        const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
        if (route) return route(req, res);
        res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'upstream-1' }).end(JSON.stringify({ ok: true }));
      });
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    seen.length = 0;
    logLines.length = 0;
    routes.clear();
    dispatcher = new Agent({ connections: 4, keepAliveTimeout: 4_000 });
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
    const adapter = createUndiciAxiosAdapter({ dispatcher, userAgent: 'test-agent/1', defaultTimeoutMs: 300, logger });
    client = axios.create({ adapter, maxRedirects: 0 });
  });

  afterEach(() => dispatcher.close());

  const text = { responseType: 'text' as const, transformResponse: [(data: unknown) => data], validateStatus: () => true };

  it('GET as the SMN client sends it: status, headers and the text body', async () => {
    const response = await client.get<string>(`${base}/v2/p/callback?event_type=sms_fail_event`, text);
    expect(response.status).toBe(200);
    expect(response.statusText).toBe('OK');
    expect(response.data).toBe('{"ok":true}');
    expect(response.headers['x-request-id']).toBe('upstream-1');
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/v2/p/callback?event_type=sms_fail_event' });
  });

  it('adds the user agent and the request id of the current request, unless the call sets them', async () => {
    await requestContext.run({ requestId: 'bff-req-1' }, () => client.get(`${base}/a`));
    expect(seen[0].headers['user-agent']).toBe('test-agent/1');
    expect(seen[0].headers['x-request-id']).toBe('bff-req-1');

    await client.get(`${base}/b`); // outside any request: no id is made up
    expect(seen[1].headers['x-request-id']).toBeUndefined();

    await requestContext.run({ requestId: 'bff-req-2' }, () => client.get(`${base}/c`, { headers: { 'User-Agent': 'own/2', 'X-Request-Id': 'own-id' } }));
    expect(seen[2].headers['user-agent']).toBe('own/2');
    expect(seen[2].headers['x-request-id']).toBe('own-id');
  });

  it("with tracing on, sends the active span's traceparent unless the call sets one; off, none", async () => {
    const provider = new BasicTracerProvider();
    const tracing = new Tracing({ tracer: provider.getTracer('test'), propagator: new W3CTraceContextPropagator(), shutdown: () => provider.shutdown() });
    const traced = axios.create({ adapter: createUndiciAxiosAdapter({ dispatcher, userAgent: 'test-agent/1', defaultTimeoutMs: 300, tracing }) });
    let spanId = '';
    let traceId = '';
    await tracing.inSpan('attempt', SpanKind.CLIENT, {}, async (span) => {
      ({ spanId, traceId } = span!.spanContext());
      await traced.get(`${base}/a`);
      await traced.get(`${base}/b`, { headers: { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` } });
    });
    await traced.get(`${base}/c`); // no active span
    await tracing.inSpan('attempt', SpanKind.CLIENT, {}, () => client.get(`${base}/d`)); // an adapter without tracing
    expect(seen.map((s) => s.headers.traceparent)).toEqual([`00-${traceId}-${spanId}-01`, `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`, undefined, undefined]);
    await provider.shutdown();
  });

  it('PUT: the string body byte for byte; undici sets content-length and host', async () => {
    const body = JSON.stringify({ callback: [{ event_type: 'sms_fail_event', topic_urn: 'urn:smn:x:y:z' }] });
    await client.put(`${base}/v2/p/callback`, body, {
      headers: { 'content-type': 'application/json', 'x-sdk-date': '20260101T000000Z', 'content-length': '1' },
      transformRequest: [(data: unknown) => data],
    });
    expect(seen[0]).toMatchObject({ method: 'PUT', body });
    expect(seen[0].headers['x-sdk-date']).toBe('20260101T000000Z');
    expect(seen[0].headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(seen[0].headers.host).toBe(new URL(base).host);
  });

  it('under HttpService as IAM and the JWKS client call it: a JSON body out, JSON parsed back', async () => {
    const http = new HttpService(client);
    const response = await firstValueFrom(http.post(`${base}/v3/auth/tokens`, { auth: { user: 'u' } }));
    expect(response.data).toEqual({ ok: true });
    expect(seen[0].body).toBe('{"auth":{"user":"u"}}');
    expect(seen[0].headers['content-type']).toMatch(/^application\/json/);
  });

  it('unsubscribing from the HttpService Observable cancels the request', async () => {
    let serverSawClose = false;
    routes.set('/slow', (req) => req.socket.on('close', () => (serverSawClose = true)));
    const http = new HttpService(client);
    const subscription = http.get(`${base}/slow`, { timeout: 5_000 }).subscribe({ error: () => undefined });
    await waitFor(() => seen.length === 1);
    subscription.unsubscribe();
    // undici aborts the request by closing its connection, long before the 5 s timeout.
    await waitFor(() => serverSawClose);
    expect(serverSawClose).toBe(true);
  });

  it('validateStatus: by default a 4xx rejects as ERR_BAD_REQUEST with the response', async () => {
    routes.set('/missing', (_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"SMN.0140"}'));
    const error = await client.get(`${base}/missing`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).code).toBe(AxiosError.ERR_BAD_REQUEST);
    expect((error as AxiosError).response?.data).toEqual({ code: 'SMN.0140' });
    expect((await client.get(`${base}/missing`, text)).status).toBe(404);
  });

  it('timeout: an HttpTimeoutError (ETIMEDOUT), also for a body that stalls, and the pool stays usable', async () => {
    routes.set('/slow', () => undefined); // never answers
    routes.set('/stalls', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('partial');
    });
    const error = await client.get(`${base}/slow`, { timeout: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpTimeoutError);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).code).toBe('ETIMEDOUT');
    expect((error as AxiosError).message).toBe('timeout of 50ms exceeded');

    expect(await client.get(`${base}/stalls`, { timeout: 80 }).catch((e: unknown) => e)).toBeInstanceOf(HttpTimeoutError);
    expect((await client.get(`${base}/after`)).status).toBe(200);
  });

  it('a call that sets no timeout gets the default one', async () => {
    routes.set('/slow', () => undefined);
    const started = Date.now();
    const error = await client.get(`${base}/slow`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpTimeoutError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('signal: aborting in flight rejects with CanceledError; an aborted signal sends nothing', async () => {
    routes.set('/slow', () => undefined);
    const controller = new AbortController();
    const pending = client.get(`${base}/slow`, { signal: controller.signal, timeout: 5_000 }).catch((e: unknown) => e);
    await waitFor(() => seen.length === 1);
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(CanceledError);
    expect(axios.isCancel(error)).toBe(true);

    const early = await client.get(`${base}/x`, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(axios.isCancel(early)).toBe(true);
    expect(seen).toHaveLength(1);
  });

  it('connection refused: an HttpConnectionError, code ECONNREFUSED, never sent, the undici error as cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const error = await client.get(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpConnectionError);
    expect(error).toMatchObject({ code: 'ECONNREFUSED', neverSent: true });
    expect((error as AxiosError).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect((error as AxiosError).response).toBeUndefined();
  });

  it('a connection closed before the answer: ECONNRESET, which may have been received', async () => {
    routes.set('/reset', (req) => req.socket.destroy());
    const error = await client.get(`${base}/reset`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpConnectionError);
    expect(error).toMatchObject({ code: 'ECONNRESET', neverSent: false });
  });

  it('keeps connections alive: sequential requests reuse their sockets', async () => {
    for (let i = 0; i < 6; i++) await client.get(`${base}/${i}`);
    // undici's pool may open a second connection while the first is being released, never one per request.
    expect(new Set(seen.map((s) => s.remotePort)).size).toBeLessThanOrEqual(2);
  });

  it.each([
    ['params', { params: { a: 1 } }],
    ['a stream response', { responseType: 'stream' as const }],
    ['a relative url with baseURL', { baseURL: 'http://127.0.0.1:1', url: '/x' }],
  ])('refuses %s loudly and sends nothing', async (_what, extra) => {
    const error = await client.request({ url: `${base}/x`, ...extra }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AxiosError);
    expect(['ERR_NOT_SUPPORT', 'ERR_INVALID_URL']).toContain((error as AxiosError).code);
    expect(seen).toHaveLength(0);
  });

  it('refuses a body that is not a string', async () => {
    const error = await client.put(`${base}/x`, Buffer.from('x'), { transformRequest: [(data: unknown) => data] }).catch((e: unknown) => e);
    expect((error as AxiosError).code).toBe('ERR_NOT_SUPPORT');
  });

  it('logs one debug line per request, credentials redacted and without the query string', async () => {
    await client.get(`${base}/v2/p/callback?secret=in-the-query`, {
      headers: {
        Authorization: 'SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=abc',
        'X-Auth-Token': 'iam-token',
        'X-Security-Token': 'sts-token',
        'X-Api-Key': 'key',
        Cookie: 'c=1',
        'Proxy-Authorization': 'Basic eHg6eXk=',
        'X-Sdk-Date': '20260101T000000Z',
      },
    });
    routes.set('/refused', (_req, res) => res.writeHead(503).end());
    await client.get(`${base}/refused`, text);

    const lines = logLines.filter((l) => l.msg === 'outbound request');
    expect(lines).toHaveLength(2);
    const first = lines[0].outbound as { url: string; status: number; headers: Record<string, string> };
    expect(first).toMatchObject({ method: 'GET', url: `${base}/v2/p/callback`, status: 200 });
    for (const name of ['Authorization', 'X-Auth-Token', 'X-Security-Token', 'X-Api-Key', 'Cookie', 'Proxy-Authorization']) {
      expect(first.headers[name]).toBe('[redacted]');
    }
    expect(first.headers['X-Sdk-Date']).toBe('20260101T000000Z');
    const all = JSON.stringify(logLines);
    for (const secret of ['Signature=abc', 'iam-token', 'sts-token', '"key"', 'c=1', 'eHg6eXk=', 'in-the-query']) expect(all).not.toContain(secret);
    expect(lines[1].outbound).toMatchObject({ status: 503 });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
}
