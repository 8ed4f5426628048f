import { connect } from 'node:net';
import { CALLBACK_PATH, DEV_KEY, SEED_BODY } from '../support/bff-harness';
import { emulatorRequests, injectFault, resetEmulator } from '../support/emulator-admin';
import { auditHarnessPerSuite, backendKinds, intentCount, newRequestId, recordsOf, storeOf, waitFor } from '../support/audit-backend';

/**
 * The edges of the audit promise: every attempt that receives an answer has exactly one record, also when
 * the body is absurd or never completes, and after the change was sent anything but a well-formed SMN
 * answer is `unknown`.
 */
describe.each(backendKinds())('audit at the edges, on %s', (kind) => {
  const suite = auditHarnessPerSuite(kind, { UPSTREAM_MAX_RETRIES: '1', UPSTREAM_BREAKER_THRESHOLD: '100' });
  beforeEach(() => resetEmulator(suite.h.emulator));

  const recordsFor = async (id: string) => recordsOf(storeOf(suite.h), id);
  const smnPuts = async (id: string) => (await emulatorRequests(suite.h.emulator)).filter((r) => r.caller_request_id === id && r.method === 'PUT');

  // 100,000 levels cannot fit in the 64 KiB body limit (one byte a level at least): that one is a 413.
  it.each([
    [2_000, 400, 'BFF.VALIDATION_FAILED'],
    [20_000, 400, 'BFF.VALIDATION_FAILED'],
    [100_000, 413, 'BFF.PAYLOAD_TOO_LARGE'],
  ])('refuses JSON nested %i levels with %i and records it once', async (levels, status, code) => {
    const id = newRequestId(`deep-${levels}`);
    const body = `{"callback":${'['.repeat(levels)}${']'.repeat(levels)}}`;
    const res = await fetch(`${suite.h.url}${CALLBACK_PATH}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-api-key': DEV_KEY, 'x-request-id': id },
      body,
    });
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ code, request_id: id });
    const records = await recordsFor(id);
    expect(records).toEqual([expect.objectContaining({ outcome: 'invalid', http_status: status, error_code: code, requested: null })]);
    expect(await smnPuts(id)).toEqual([]);
  });

  it('records a PUT whose client goes away in the middle of the body, once', async () => {
    const id = newRequestId('cut-body');
    const { port } = new URL(suite.h.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.on('error', () => undefined);
    const body = JSON.stringify(SEED_BODY);
    // The server has parsed the headers (and so opened the attempt) before the client goes away.
    const arrived = new Promise((resolve) => suite.h.app.getHttpServer().once('request', resolve));
    socket.write(
      `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Api-Key: ${DEV_KEY}\r\n` +
        `X-Request-Id: ${id}\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`,
    );
    await arrived;
    socket.destroy();
    const records = await waitFor('the attempt to be recorded', async () => {
      const found = await recordsFor(id);
      return found.length ? found : undefined;
    });
    expect(records).toEqual([expect.objectContaining({ request_id: id, outcome: 'invalid', requested: null })]);
    expect(await smnPuts(id)).toEqual([]);
  });

  it('records an unreadable 200 to the PUT as unknown: SMN took the change, what it did is not known', async () => {
    await injectFault(suite.h.emulator, { kind: 'malformed', status: 200, method: 'PUT', body: '<html>ok</html>', count: 5 });
    const id = newRequestId('unreadable-200');
    const res = await fetch(`${suite.h.url}${CALLBACK_PATH}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-api-key': DEV_KEY, 'x-request-id': id },
      body: JSON.stringify(SEED_BODY),
    });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ code: 'BFF.UPSTREAM_UNAVAILABLE' });
    expect(await recordsFor(id)).toEqual([expect.objectContaining({ outcome: 'unknown', http_status: 502, upstream_status: 200 })]);
    expect(await intentCount(storeOf(suite.h), id)).toBe(0);
  });

  it('records a PUT whose connection is reset after it was sent as unknown, through the retries', async () => {
    await injectFault(suite.h.emulator, { kind: 'reset', method: 'PUT', count: 5 });
    const id = newRequestId('reset-after-send');
    const res = await fetch(`${suite.h.url}${CALLBACK_PATH}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-api-key': DEV_KEY, 'x-request-id': id },
      body: JSON.stringify(SEED_BODY),
    });
    expect(res.status).toBe(502);
    expect((await smnPuts(id)).length).toBe(2); // the first attempt and its retry both reached SMN
    expect(await recordsFor(id)).toEqual([expect.objectContaining({ outcome: 'unknown', http_status: 502, error_code: 'BFF.UPSTREAM_UNAVAILABLE' })]);
  });
});
