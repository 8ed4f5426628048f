import { connect, Socket } from 'node:net';
import { CALLBACK_PATH, DEV_KEY, Harness, startHarness } from '../support/bff-harness';
import { injectFault } from '../support/emulator-admin';

/** Short timeouts so the suite is fast; the defaults (10 s, 10 s, 5 s) behave the same, only slower. */
const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 1_500;
const KEEP_ALIVE_TIMEOUT_MS = 1_000;
/** Node checks the headers and request timeouts on an interval of a tenth of the shorter one (http-setup.ts). */
const CHECK_SLACK_MS = HEADERS_TIMEOUT_MS / 10;
/**
 * Scheduling on a shared, loaded machine. The upper bounds are not timing checks: they tell the configured
 * timeouts from the defaults (10 s, 10 s, 5 s), which every bound below stays short of.
 */
const SCHEDULING_SLACK_MS = 2_500;

interface Closed {
  /** Milliseconds from the socket's connection to its close. */
  afterMs: number;
  answer: string;
}

/** A raw connection that records everything the server sends and resolves when the server closes it. */
function openSocket(port: number): { socket: Socket; connected: Promise<void>; closed: Promise<Closed> } {
  const socket = connect(port, '127.0.0.1');
  let connectedAt = 0;
  let answer = '';
  const connected = new Promise<void>((resolve) =>
    socket.once('connect', () => {
      connectedAt = Date.now();
      resolve();
    }),
  );
  socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
  socket.on('error', () => undefined); // a reset is a close too
  const closed = new Promise<Closed>((resolve) => socket.once('close', () => resolve({ afterMs: Date.now() - connectedAt, answer })));
  return { socket, connected, closed };
}

const envelopeOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;

/** Slow clients must not hold connections (README, Timeouts and encodings): each phase of a request has its own bound. */
describe('timeouts that free connections', () => {
  let harness: Harness;
  let port: number;
  beforeAll(async () => {
    harness = await startHarness({
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
      // Room for an answer slower than the request timeout (the last test).
      UPSTREAM_ATTEMPT_TIMEOUT_MS: '5000',
      UPSTREAM_DEADLINE_MS: '8000',
    });
    port = Number(new URL(harness.url).port);
  });
  afterAll(() => harness?.close());

  it('closes a connection whose headers trickle in, with 408 in the envelope, within the headers timeout', async () => {
    const { socket, connected, closed } = openSocket(port);
    await connected;
    socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n');
    // A new header line every 100 ms keeps the connection busy, so only the headers timeout can end it.
    const trickle = setInterval(() => socket.writable && socket.write(`X-Trickle-${Date.now()}: y\r\n`), 100);
    const { afterMs, answer } = await closed.finally(() => clearInterval(trickle));
    expect(afterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(afterMs).toBeLessThanOrEqual(HEADERS_TIMEOUT_MS + CHECK_SLACK_MS + SCHEDULING_SLACK_MS);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(envelopeOf(answer)).toEqual({ request_id: expect.stringMatching(/^[0-9a-f]{32}$/), code: 'BFF.REQUEST_TIMEOUT', message: expect.any(String) });
  });

  it('closes a connection whose body stalls, with 408 in the envelope, within the request timeout', async () => {
    const { socket, connected, closed } = openSocket(port);
    await connected;
    socket.write(
      `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\nX-Api-Key: ${DEV_KEY}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"callback":[`,
    );
    const { afterMs, answer } = await closed;
    expect(afterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(afterMs).toBeLessThanOrEqual(REQUEST_TIMEOUT_MS + CHECK_SLACK_MS + SCHEDULING_SLACK_MS);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(envelopeOf(answer)).toMatchObject({ code: 'BFF.REQUEST_TIMEOUT' });
  });

  it('closes a connection that never sends a byte within the headers timeout', async () => {
    const { connected, closed } = openSocket(port);
    await connected;
    const { afterMs } = await closed;
    expect(afterMs).toBeLessThanOrEqual(HEADERS_TIMEOUT_MS + CHECK_SLACK_MS + SCHEDULING_SLACK_MS);
  });

  it('closes an idle kept-alive connection after the keep-alive timeout', async () => {
    const { socket, connected, closed } = openSocket(port);
    await connected;
    let answeredAt = 0;
    socket.once('data', () => (answeredAt = Date.now()));
    socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    const { answer } = await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    // Node arms the idle timer with the keep-alive timeout plus one second, so that a client's request sent
    // just before the server's close does not race it.
    expect(Date.now() - answeredAt).toBeLessThanOrEqual(KEEP_ALIVE_TIMEOUT_MS + 1_000 + SCHEDULING_SLACK_MS);
  });

  it('keeps serving a valid caller next to 200 slow connections, and frees them all', async () => {
    const slow = Array.from({ length: 200 }, () => openSocket(port));
    await Promise.all(slow.map((s) => s.connected));
    for (const [i, { socket }] of slow.entries())
      socket.write(i % 2 ? 'GET /health/live HTTP/1.1\r\nHost: x\r\n' : `PUT ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{`);

    const res = await harness.api.get(CALLBACK_PATH);
    expect(res.status).toBe(200);

    const closed = await Promise.all(slow.map((s) => s.closed));
    for (const { afterMs } of closed) expect(afterMs).toBeLessThanOrEqual(REQUEST_TIMEOUT_MS + CHECK_SLACK_MS + SCHEDULING_SLACK_MS * 2);
  });

  it('does not cut off a request that arrived in time but takes longer than the request timeout to answer', async () => {
    await injectFault(harness.emulator, { kind: 'latency', latency_ms: REQUEST_TIMEOUT_MS + 500, method: 'GET' });
    const started = Date.now();
    const res = await harness.api.get(CALLBACK_PATH);
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS + 500);
  });
});
