import { Agent, request } from 'undici';
import { DEMO_IAM_USER, DEMO_PROJECT_ID, RunningEmulator, startEmulator } from './emulator';
import { FaultQueue } from './faults';

/**
 * Fault injection over real HTTP. SMN calls authenticate with an IAM token, so this file needs no
 * signer; faults act before the gateway's check anyway.
 */

const PATH = `/v2/${DEMO_PROJECT_ID}/notifications/sms/callback`;

// One connection per request: a reset or hung socket must not be reused by the next test.
const dispatcher = new Agent({ pipelining: 0 });
afterAll(() => dispatcher.close());

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(new URL(path, base), {
    method: method as 'GET',
    dispatcher,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

const json = (text: string) => JSON.parse(text);

describe('FaultQueue', () => {
  it('applies the first matching fault, in order, and drops it when used up', () => {
    const queue = new FaultQueue();
    queue.add({ kind: 'reset', method: 'PUT' });
    queue.add({ kind: 'status', status: 503, path: '/v2/', count: 2 });
    expect(queue.take('GET', '/v2/x')?.kind).toBe('status');
    expect(queue.take('PUT', '/v2/x')?.kind).toBe('reset');
    expect(queue.take('PUT', '/v2/x')?.kind).toBe('status');
    expect(queue.take('PUT', '/v2/x')).toBeUndefined();
    expect(queue.list()).toEqual([]);
  });

  it('applies a ratio-only fault without limit, and a missed roll uses nothing up', () => {
    const queue = new FaultQueue();
    queue.add({ kind: 'throttle', ratio: 0.5 });
    queue.add({ kind: 'reset' });
    expect(queue.take('GET', '/v2/x', () => 0.9)?.kind).toBe('reset');
    for (let i = 0; i < 5; i++) expect(queue.take('GET', '/v2/x', () => 0.1)?.kind).toBe('throttle');
    expect(queue.list()).toMatchObject([{ kind: 'throttle', remaining: null, applied: 5 }]);
  });

  it('combines ratio and count', () => {
    const queue = new FaultQueue();
    queue.add({ kind: 'hang', ratio: 1, count: 2 });
    expect(queue.take('GET', '/v2/x')).toBeDefined();
    expect(queue.take('GET', '/v2/x')).toBeDefined();
    expect(queue.take('GET', '/v2/x')).toBeUndefined();
  });
});

describe('fault injection over HTTP', () => {
  let emu: RunningEmulator;
  let auth: Record<string, string>;
  const smn = () => call(emu.url, 'GET', PATH, undefined, auth);
  const inject = (fault: object) => call(emu.url, 'POST', '/_emulator/faults', fault);

  beforeAll(async () => {
    emu = await startEmulator();
    const issued = await call(emu.url, 'POST', '/v3/auth/tokens', {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: DEMO_IAM_USER.name, password: DEMO_IAM_USER.password, domain: { name: DEMO_IAM_USER.domain } } },
        },
        scope: { project: { id: DEMO_PROJECT_ID } },
      },
    });
    auth = { 'x-auth-token': issued.headers['x-subject-token'] as string };
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.state.reset());

  it('latency: delays the normal answer', async () => {
    await inject({ kind: 'latency', latency_ms: 200 });
    const started = Date.now();
    const res = await smn();
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    const quick = Date.now();
    await smn();
    expect(Date.now() - quick).toBeLessThan(150);
  });

  it('status: answers SMN-style for the next `count` requests, then normally', async () => {
    const created = await inject({ kind: 'status', status: 503, count: 2 });
    expect(created.status).toBe(201);
    expect(json(created.text)).toMatchObject({ id: expect.any(String), kind: 'status', remaining: 2, applied: 0 });

    for (let i = 0; i < 2; i++) {
      const res = await smn();
      expect(res.status).toBe(503);
      expect(json(res.text)).toEqual({ request_id: res.headers['x-request-id'], code: 'SMN.0018', message: 'Service internal error.' });
    }
    expect((await smn()).status).toBe(200);
  });

  it('status: answers with a given code and message, APIG-style on request', async () => {
    await inject({ kind: 'status', status: 400, code: 'SMN.0141', message: 'from SMN' });
    await inject({ kind: 'status', status: 502, style: 'apig', retry_after: 7 });
    const smnStyle = await smn();
    expect(json(smnStyle.text)).toMatchObject({ code: 'SMN.0141', message: 'from SMN' });
    const apigStyle = await smn();
    expect(apigStyle.status).toBe(502);
    expect(apigStyle.headers['retry-after']).toBe('7');
    expect(json(apigStyle.text)).toEqual({ error_code: 'APIGW.0202', error_msg: 'Backend unavailable.', request_id: apigStyle.headers['x-request-id'] });
  });

  it('throttle: answers 429 APIGW.0308 with Retry-After', async () => {
    await inject({ kind: 'throttle', retry_after: 3 });
    const res = await smn();
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('3');
    expect(json(res.text)).toMatchObject({ error_code: 'APIGW.0308', error_msg: expect.stringMatching(/^The throttling threshold has been reached/) });
    expect((await smn()).status).toBe(200);
  });

  it('reset: drops the connection without an answer, and logs the request', async () => {
    const { id } = json((await inject({ kind: 'reset' })).text);
    await expect(smn()).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect((await smn()).status).toBe(200);
    const [faulted] = emu.state.requestLog.list();
    expect(faulted).toMatchObject({ path: PATH, status: null, fault: { id, kind: 'reset' } });
  });

  it('malformed: answers 200 with a body that is not JSON', async () => {
    await inject({ kind: 'malformed' });
    const res = await smn();
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(() => JSON.parse(res.text)).toThrow();
    await inject({ kind: 'malformed', body: '<html>gateway</html>' });
    expect((await smn()).text).toBe('<html>gateway</html>');
  });

  it('hang: never answers; the client gives up and the emulator carries on', async () => {
    await inject({ kind: 'hang' });
    const res = request(new URL(PATH, emu.url), { dispatcher, headers: auth, signal: AbortSignal.timeout(200) });
    await expect(res).rejects.toThrow();
    expect((await smn()).status).toBe(200);
  });

  it('matches by method and path prefix, and applies to IAM too', async () => {
    await inject({ kind: 'status', status: 500, method: 'put' });
    await inject({ kind: 'status', status: 502, path: '/v3/' });
    expect((await smn()).status).toBe(200);
    expect((await call(emu.url, 'POST', '/v3/auth/tokens', {})).status).toBe(502);
    expect((await call(emu.url, 'PUT', PATH, { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] }, auth)).status).toBe(500);
  });

  it('applies a ratio-only fault until it is deleted', async () => {
    const { id } = json((await inject({ kind: 'status', status: 503, ratio: 1 })).text);
    for (let i = 0; i < 3; i++) expect((await smn()).status).toBe(503);
    expect(json((await call(emu.url, 'GET', '/_emulator/faults')).text).faults).toMatchObject([{ id, remaining: null, applied: 3 }]);
    expect((await call(emu.url, 'DELETE', `/_emulator/faults/${id}`)).status).toBe(204);
    expect((await call(emu.url, 'DELETE', `/_emulator/faults/${id}`)).status).toBe(404);
    expect((await smn()).status).toBe(200);
  });

  it('clears every fault with DELETE /_emulator/faults', async () => {
    await inject({ kind: 'reset', count: 5 });
    await inject({ kind: 'throttle' });
    expect((await call(emu.url, 'DELETE', '/_emulator/faults')).status).toBe(204);
    expect(json((await call(emu.url, 'GET', '/_emulator/faults')).text)).toEqual({ faults: [] });
    expect((await smn()).status).toBe(200);
  });

  it('never applies to the admin API', async () => {
    await inject({ kind: 'reset', ratio: 1 });
    expect((await call(emu.url, 'GET', '/_emulator/faults')).status).toBe(200);
  });

  it.each([
    ['an unknown kind', { kind: 'explode' }, 'kind'],
    ['latency without latency_ms', { kind: 'latency' }, 'latency_ms'],
    ['status without status', { kind: 'status' }, 'status'],
    ['a ratio above 1', { kind: 'reset', ratio: 1.5 }, 'ratio'],
    ['a count of 0', { kind: 'reset', count: 0 }, 'count'],
    ['an unknown property', { kind: 'reset', times: 2 }, ''],
  ])('refuses a fault with %s', async (_name, fault, path) => {
    const res = await inject(fault);
    expect(res.status).toBe(400);
    expect(json(res.text)).toMatchObject({ error: 'invalid request', issues: [expect.objectContaining({ path })] });
  });
});

describe('closing the emulator', () => {
  it('ends hung connections, so close() never waits for them', async () => {
    const emu = await startEmulator();
    emu.state.faults.add({ kind: 'hang', count: 3 });
    const pending = [1, 2, 3].map(() => request(new URL(PATH, emu.url), { dispatcher }).then(() => 'answered'));
    await waitFor(() => emu.state.requestLog.list().length === 3);

    const started = Date.now();
    await emu.close();
    expect(Date.now() - started).toBeLessThan(1000);
    for (const result of await Promise.allSettled(pending)) expect(result.status).toBe('rejected');
  });

  it('cuts an injected delay short', async () => {
    const emu = await startEmulator();
    emu.state.faults.add({ kind: 'latency', latency_ms: 60_000 });
    const pending = request(new URL(PATH, emu.url), { dispatcher });
    await waitFor(() => emu.state.requestLog.list().length === 1);
    const started = Date.now();
    await emu.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(pending).rejects.toThrow();
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error('condition not met in time');
}
