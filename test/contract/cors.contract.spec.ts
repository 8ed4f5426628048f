import { callbackPath, ContractApp, DEV_KEY, startContractApp } from './support/contract-app';

const FRONTEND = 'http://frontend.example.test';

/** What a browser frontend on another origin needs (README, CORS), and nothing more. */
describe('CORS for browser frontends', () => {
  let app: ContractApp;
  beforeAll(async () => {
    app = await startContractApp({ env: { CORS_ORIGINS: FRONTEND } });
  });
  afterAll(() => app?.close());

  const preflight = (origin: string, method: string, headers: string) =>
    app.inject({
      method: 'OPTIONS',
      url: callbackPath(),
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });

  it('lets a configured origin PUT with If-Match and its credentials, cached for a while, never with cookies', async () => {
    const res = await preflight(FRONTEND, 'PUT', 'content-type,if-match,x-api-key');
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(FRONTEND);
    expect(
      String(res.headers['access-control-allow-methods'])
        .split(',')
        .map((v) => v.trim()),
    ).toEqual(['GET', 'PUT']);
    const allowed = String(res.headers['access-control-allow-headers'])
      .toLowerCase()
      .split(',')
      .map((v) => v.trim());
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'x-api-key', 'content-type', 'if-match', 'x-request-id', 'traceparent']));
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('answers the allow-list, never an echo of the headers a preflight asks for', async () => {
    const res = await preflight(FRONTEND, 'PUT', 'x-evil');
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).not.toContain('x-evil');
  });

  it('exposes the ETag and the request id to the page', async () => {
    const res = await app.inject({ method: 'GET', url: callbackPath(), headers: { origin: FRONTEND, 'x-api-key': DEV_KEY } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(FRONTEND);
    const exposed = String(res.headers['access-control-expose-headers'])
      .toLowerCase()
      .split(',')
      .map((v) => v.trim());
    expect(exposed).toEqual(expect.arrayContaining(['etag', 'x-request-id', 'retry-after', 'www-authenticate']));
  });

  it('gives another origin no CORS headers', async () => {
    const res = await preflight('http://elsewhere.example.test', 'PUT', 'content-type');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('an OPTIONS that is no preflight, with CORS on', () => {
  let app: ContractApp;
  beforeAll(async () => {
    app = await startContractApp({ env: { CORS_ORIGINS: FRONTEND } });
  });
  afterAll(() => app?.close());

  it.each([
    ['without Origin', { 'access-control-request-method': 'PUT' }],
    ['without Access-Control-Request-Method', { origin: FRONTEND }],
    ['with neither', {}],
  ])('%s: 404 in the envelope with a request id, as without CORS, not the plugin text', async (_, headers: Record<string, string>) => {
    const res = await app.inject({ method: 'OPTIONS', url: callbackPath(), headers });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(res.json()).toEqual({ request_id: res.headers['x-request-id'], code: 'BFF.NOT_FOUND', message: 'No such route.' });
    expect(res.headers['access-control-allow-methods']).toBeUndefined();
  });
});
