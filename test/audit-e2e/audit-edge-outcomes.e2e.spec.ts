import { connect } from 'node:net';
import type { AuditRecord } from '../../src/audit/audit.types';
import type { FaultSpec } from '../../src/emulator/faults';
import { CALLBACK_PATH, DEV_KEY, SEED_BODY } from '../support/bff-harness';
import { emulatorRequests, injectFault, resetEmulator } from '../support/emulator-admin';
import { auditHarnessPerSuite, storeKinds, intentCount, newRequestId, recordsOf, storeOf, waitFor } from '../support/audit-backend';

/** One PUT sent whole with the development key, and the one record it must leave. */
interface EdgeCase {
  name: string;
  /** Injected into the emulator before the PUT is sent. */
  fault?: FaultSpec;
  /** The JSON text sent, as it is. */
  body: string;
  /** The answer's status and code; the record says the same. */
  status: number;
  code: string;
  record: Pick<AuditRecord, 'outcome' | 'upstream_status' | 'requested'>;
  /** How many PUTs reached SMN: retries included. */
  smnPuts: number;
}

/** Refused by the BFF itself: nothing reached SMN. */
const refused = { outcome: 'invalid', upstream_status: null, requested: null } as const;

// 100,000 levels cannot fit in the 64 KiB body limit (one byte a level at least): that one is a 413.
const CASES: EdgeCase[] = [
  ...(
    [
      [2_000, 400, 'BFF.VALIDATION_FAILED'],
      [20_000, 400, 'BFF.VALIDATION_FAILED'],
      [100_000, 413, 'BFF.PAYLOAD_TOO_LARGE'],
    ] as const
  ).map(([levels, status, code]) => ({
    name: `refuses JSON nested ${levels} levels with ${status} and records it once`,
    body: `{"callback":${'['.repeat(levels)}${']'.repeat(levels)}}`,
    status,
    code,
    record: refused,
    smnPuts: 0,
  })),
  {
    name: 'records an unreadable 200 to the PUT as unknown: SMN took the change, what it did is not known',
    fault: { kind: 'malformed', status: 200, method: 'PUT', body: '<html>ok</html>', count: 5 },
    body: JSON.stringify(SEED_BODY),
    status: 502,
    code: 'BFF.UPSTREAM_UNAVAILABLE',
    record: { outcome: 'unknown', upstream_status: 200, requested: SEED_BODY },
    // SMN answered, if unreadably: that is not retried.
    smnPuts: 1,
  },
  {
    name: 'records a PUT whose connection is reset after it was sent as unknown, through the retries',
    fault: { kind: 'reset', method: 'PUT', count: 5 },
    body: JSON.stringify(SEED_BODY),
    status: 502,
    code: 'BFF.UPSTREAM_UNAVAILABLE',
    record: { outcome: 'unknown', upstream_status: null, requested: SEED_BODY },
    // The first attempt and its retry both reached SMN.
    smnPuts: 2,
  },
];

/**
 * The edges of the audit promise: every attempt that receives an answer has exactly one record, also when
 * the body is absurd or never completes, and after the change was sent anything but a well-formed SMN
 * answer is `unknown`.
 */
describe.each(storeKinds())('audit at the edges, on %s', (kind) => {
  const suite = auditHarnessPerSuite(kind, { UPSTREAM_MAX_RETRIES: '1', UPSTREAM_BREAKER_THRESHOLD: '100' });
  beforeEach(() => resetEmulator(suite.h.emulator));

  const recordsFor = async (id: string) => recordsOf(storeOf(suite.h), id);
  const smnPuts = async (id: string) => (await emulatorRequests(suite.h.emulator)).filter((r) => r.caller_request_id === id && r.method === 'PUT');

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    if (c.fault) await injectFault(suite.h.emulator, c.fault);
    const id = newRequestId(`edge-${c.record.outcome}-${c.status}`);
    const res = await fetch(`${suite.h.url}${CALLBACK_PATH}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-api-key': DEV_KEY, 'x-request-id': id },
      body: c.body,
    });
    expect(res.status).toBe(c.status);
    const puts = await smnPuts(id);
    expect(puts.length).toBe(c.smnPuts);
    // SMN's request id when SMN answered the PUT (with something, however unreadable), else ours.
    const answered = c.record.upstream_status !== null ? puts.at(-1)?.request_id : undefined;
    expect(res.headers.get('x-request-id')).toBe(id);
    expect(await res.json()).toMatchObject({ code: c.code, request_id: answered ?? id });
    expect(await recordsFor(id)).toEqual([
      expect.objectContaining({ request_id: id, http_status: c.status, error_code: c.code, upstream_request_id: answered ?? null, ...c.record }),
    ]);
    expect(await intentCount(storeOf(suite.h), id)).toBe(0);
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
    expect(await intentCount(storeOf(suite.h), id)).toBe(0);
    expect(await smnPuts(id)).toEqual([]);
  });
});
