import { HttpService } from '@nestjs/axios';
import axios, { AxiosError, AxiosInstance, CanceledError } from 'axios';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { Agent } from 'undici';
import { createUndiciAdapter, UndiciAxiosAdapter } from './undici-axios-adapter';

/** What the loopback server saw of one request. */
interface Seen {
  method?: string;
  url?: string;
  headers: IncomingMessage['headers'];
  body: string;
  remotePort?: number;
}

type Route = (req: IncomingMessage, res: ServerResponse, seen: Seen) => void;

describe('createUndiciAdapter (real loopback server)', () => {
  let server: Server;
  let base: string;
  const sockets = new Set<Socket>();
  const seen: Seen[] = [];
  const routes = new Map<string, Route>();
  let adapter: UndiciAxiosAdapter;
  let client: AxiosInstance;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const entry: Seen = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString(), remotePort: req.socket.remotePort };
        seen.push(entry);
        const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
        if (route) return route(req, res, entry);
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
    routes.clear();
    adapter = createUndiciAdapter({ connections: 4 });
    client = axios.create({ adapter, maxRedirects: 0 });
  });

  afterEach(() => adapter.close());

  it('GET: status, statusText, headers and the text body, as the SMN client asks for it', async () => {
    const response = await client.get<string>(`${base}/v2/p/callback?event_type=sms_fail_event`, {
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
    });
    expect(response.status).toBe(200);
    expect(response.statusText).toBe('OK');
    expect(response.data).toBe('{"ok":true}');
    expect(response.headers['x-request-id']).toBe('upstream-1');
    expect(response.headers['content-type']).toBe('application/json');
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/v2/p/callback?event_type=sms_fail_event' });
  });

  it('PUT: sends the string body byte for byte with its headers; undici sets content-length and host', async () => {
    const body = JSON.stringify({ callback: [{ event_type: 'sms_fail_event', topic_urn: 'urn:smn:x:y:z' }] });
    await client.put(`${base}/v2/p/callback`, body, {
      headers: { 'content-type': 'application/json', 'x-sdk-date': '20260101T000000Z', 'content-length': '1' },
      transformRequest: [(data: unknown) => data],
    });
    expect(seen[0].method).toBe('PUT');
    expect(seen[0].body).toBe(body);
    expect(seen[0].headers['content-type']).toBe('application/json');
    expect(seen[0].headers['x-sdk-date']).toBe('20260101T000000Z');
    expect(seen[0].headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(seen[0].headers.host).toBe(new URL(base).host);
  });

  it('builds the URL from baseURL, url and params', async () => {
    await client.get('/items', { baseURL: `${base}/api`, params: { a: '1', b: 'x y' } });
    expect(seen[0].url).toBe('/api/items?a=1&b=x+y');
  });

  it('parses JSON through axios when no responseType is given, and returns a Buffer for arraybuffer', async () => {
    expect((await client.get(`${base}/json`)).data).toEqual({ ok: true });
    const raw = await client.get(`${base}/json`, { responseType: 'arraybuffer' });
    expect(Buffer.isBuffer(raw.data)).toBe(true);
    expect(raw.data.toString()).toBe('{"ok":true}');
  });

  it('validateStatus: rejects 4xx as ERR_BAD_REQUEST and 5xx as ERR_BAD_RESPONSE with the response; accepts all when told', async () => {
    routes.set('/missing', (_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"SMN.0140"}'));
    routes.set('/broken', (_req, res) => res.writeHead(503).end('down'));

    const notFound = await client.get(`${base}/missing`).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(AxiosError);
    expect((notFound as AxiosError).code).toBe(AxiosError.ERR_BAD_REQUEST);
    expect((notFound as AxiosError).response?.status).toBe(404);
    expect((notFound as AxiosError).response?.data).toEqual({ code: 'SMN.0140' });

    const broken = await client.get(`${base}/broken`).catch((e: unknown) => e);
    expect((broken as AxiosError).code).toBe(AxiosError.ERR_BAD_RESPONSE);

    const accepted = await client.get(`${base}/broken`, { validateStatus: () => true, responseType: 'text' });
    expect(accepted.status).toBe(503);
    expect(accepted.data).toBe('down');
  });

  it('timeout: an AxiosError with code ECONNABORTED (ETIMEDOUT with clarifyTimeoutError), and the pool stays usable', async () => {
    routes.set('/slow', () => undefined); // never answers

    const error = await client.get(`${base}/slow`, { timeout: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).code).toBe('ECONNABORTED');
    expect((error as AxiosError).message).toBe('timeout of 50ms exceeded');

    const clarified = await client.get(`${base}/slow`, { timeout: 50, transitional: { clarifyTimeoutError: true } }).catch((e: unknown) => e);
    expect((clarified as AxiosError).code).toBe('ETIMEDOUT');

    expect((await client.get(`${base}/after`)).status).toBe(200);
  });

  it('timeout also covers a body that stops half way', async () => {
    routes.set('/stalls', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('partial');
    });
    const error = await client.get(`${base}/stalls`, { timeout: 80 }).catch((e: unknown) => e);
    expect((error as AxiosError).code).toBe('ECONNABORTED');
  });

  it('signal: aborting in flight rejects with CanceledError (ERR_CANCELED); an aborted signal does not send', async () => {
    routes.set('/slow', () => undefined);
    const controller = new AbortController();
    const pending = client.get(`${base}/slow`, { signal: controller.signal }).catch((e: unknown) => e);
    await waitFor(() => seen.length === 1);
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(CanceledError);
    expect((error as AxiosError).code).toBe('ERR_CANCELED');
    expect(axios.isCancel(error)).toBe(true);

    const before = seen.length;
    const early = await client.get(`${base}/x`, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((early as AxiosError).code).toBe('ERR_CANCELED');
    expect(seen.length).toBe(before);
  });

  it('network errors: ECONNREFUSED from a closed port, with the undici error as cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const error = await client.get(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).code).toBe('ECONNREFUSED');
    expect((error as AxiosError).cause).toBeDefined();
    expect((error as AxiosError).response).toBeUndefined();
  });

  it('network errors: a connection closed before the answer is ECONNRESET', async () => {
    routes.set('/reset', (req) => req.socket.destroy());
    const error = await client.get(`${base}/reset`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).code).toBe('ECONNRESET');
  });

  it('keeps connections alive: sequential requests reuse their sockets', async () => {
    for (let i = 0; i < 6; i++) await client.get(`${base}/${i}`);
    // undici's pool may open a second connection while the first is being released, never one per request.
    expect(new Set(seen.map((s) => s.remotePort)).size).toBeLessThanOrEqual(2);
  });

  it('works under @nestjs/axios HttpService, the client API of the SMN adapter', async () => {
    const http = new HttpService(client);
    const response = await firstValueFrom(http.request<string>({ method: 'GET', url: `${base}/nest`, responseType: 'text', validateStatus: () => true }));
    expect(response.status).toBe(200);
    expect(seen[0].url).toBe('/nest');
  });

  it('close() closes the pool it created; a given dispatcher is left open', async () => {
    await client.get(`${base}/a`);
    await adapter.close();
    expect((adapter.dispatcher as Agent).closed).toBe(true);

    const shared = createUndiciAdapter({ connections: 1 });
    const borrowing = createUndiciAdapter({ dispatcher: shared.dispatcher });
    await borrowing.close();
    expect((shared.dispatcher as Agent).closed).toBe(false);
    await shared.close();
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
}
