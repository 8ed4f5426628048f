import { callbackPath, ContractApp, DEV_KEY, newRequestId, SEED_BODY, startContractApp } from './support/contract-app';

/** A body is read as UTF-8 JSON, uncompressed, or refused with 415 (README, API). */
describe('request body encodings', () => {
  let app: ContractApp;
  beforeAll(async () => {
    app = await startContractApp();
  });
  afterAll(() => app?.close());

  const put = (headers: Record<string, string>) => {
    const requestId = newRequestId('encoding');
    return app
      .put(callbackPath(), JSON.stringify(SEED_BODY), { requestId, headers })
      .then((res) => ({ res, requestId, forwarded: app.smn.callsOf(requestId, 'updateSmsCallbacks').length }));
  };

  it.each([
    ['Content-Encoding: gzip on a plain body', { 'content-encoding': 'gzip' }],
    ['Content-Encoding: br', { 'content-encoding': 'br' }],
    ['charset=latin1', { 'content-type': 'application/json; charset=latin1' }],
    ['charset=utf-16', { 'content-type': 'application/json; charset=utf-16' }],
  ])('%s: 415 in the envelope, nothing forwarded, without echoing the value', async (_name, headers) => {
    const { res, forwarded, requestId } = await put(headers);
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ code: 'BFF.UNSUPPORTED_MEDIA_TYPE', request_id: requestId });
    expect(res.body).not.toMatch(/gzip|br\b|latin1|utf-16/i);
    expect(forwarded).toBe(0);
  });

  it.each([
    ['charset=UTF-8, as SMN SDKs send it', { 'content-type': 'application/json; charset=UTF-8' }],
    ['charset=utf-8', { 'content-type': 'application/json;charset=utf-8' }],
    ['Content-Encoding: identity', { 'content-encoding': 'identity' }],
  ])('%s is accepted', async (_name, headers) => {
    const { res, forwarded } = await put(headers);
    expect(res.statusCode).toBe(200);
    expect(forwarded).toBe(1);
  });

  // The Node core's client sends and signs `{}` with every GET (docs/upstream-smn.md §8.5): kept as bytes, never parsed.
  const getWithBody = (payload: string) =>
    app.inject({ method: 'GET', url: callbackPath(), payload, headers: { 'content-type': 'application/json', 'x-api-key': DEV_KEY } });

  it('reads past a GET body, even one that is not JSON', async () => {
    expect((await getWithBody('{}')).statusCode).toBe(200);
    expect((await getWithBody('not json')).statusCode).toBe(200);
  });

  it('refuses a GET body over the body limit with 413 in the envelope', async () => {
    const res = await getWithBody(`"${'x'.repeat(70 * 1024)}"`);
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'BFF.PAYLOAD_TOO_LARGE', message: 'The request body exceeds 64 KiB.' });
  });
});
