import { connect } from 'node:net';
import { callbackPath, ContractApp, DEV_KEY, startContractApp } from '../contract/support/contract-app';

/** Answers Node gives before any route runs are in the envelope too, over a real socket. */
describe('client errors on the wire', () => {
  let app: ContractApp;
  let port: number;
  beforeAll(async () => {
    app = await startContractApp();
    await app.app.listen(0, '127.0.0.1');
    port = (app.app.getHttpServer().address() as { port: number }).port;
  });
  afterAll(() => app?.close());

  /** Sends raw bytes and reads the whole answer (the server closes the connection after it). */
  const raw = (bytes: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
    });

  const envelopeOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;

  it('answers malformed framing with 400 in the envelope, with a request id, reflecting nothing', async () => {
    const answer = await raw('GARBAGE /<script> HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/\r\nx-request-id: [0-9a-f]{32}\r\n/);
    const body = envelopeOf(answer);
    expect(body).toMatchObject({ code: 'BFF.VALIDATION_FAILED', message: expect.any(String), request_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(answer).not.toContain('<script>');
  });

  it('answers headers over the limit with 431 in the envelope', async () => {
    const answer = await raw(`GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(envelopeOf(answer)).toMatchObject({ code: 'BFF.HEADERS_TOO_LARGE' });
  });

  it.each([
    ['an Expect other than 100-continue', 'GET /health/live HTTP/1.1\r\nHost: x\r\nExpect: MARK-expect\r\n\r\n', 417, 'BFF.EXPECTATION_FAILED'],
    ['a CONNECT request', 'CONNECT MARK-connect.example:443 HTTP/1.1\r\nHost: MARK-connect.example:443\r\n\r\n', 404, 'BFF.NOT_FOUND'],
    [
      'a body in a transfer coding other than chunked',
      `PUT ${callbackPath()} HTTP/1.1\r\nHost: x\r\nX-Api-Key: ${DEV_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      415,
      'BFF.UNSUPPORTED_MEDIA_TYPE',
    ],
    ['an HTTP/1.1 request without Host', 'GET /health/live?MARK-host HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'BFF.VALIDATION_FAILED'],
    [
      'a malformed percent-encoding in the path',
      'GET /v2/MARK-url%E0%A4%A/notifications/sms/callback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      400,
      'BFF.VALIDATION_FAILED',
    ],
    [
      'a path parameter over the router limit',
      `GET /v2/MARK-long${'a'.repeat(1100)}/notifications/sms/callback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      414,
      'BFF.URI_TOO_LONG',
    ],
  ])("answers %s in the envelope with a request id, in this service's words", async (_, bytes, status, code) => {
    const answer = await raw(bytes);
    expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    const requestId = /\r\nx-request-id: ([0-9a-f]{32})\r\n/i.exec(answer)?.[1];
    expect(envelopeOf(answer)).toEqual({ request_id: requestId, code, message: expect.any(String) });
    expect(answer).not.toMatch(/MARK|FST_/);
  });
});
