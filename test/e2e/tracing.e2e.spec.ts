import { EventEmitter, once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO_CREDENTIALS, type RunningEmulator, startEmulator } from '../../src/emulator/emulator';
import type { RequestLogEntry } from '../../src/emulator/emulator-state';
import { CALLBACK_PATH, PROJECT_ID, REGION, SEED_BODY } from '../support/bff-harness';
import { type ChildBff, startChildBff } from '../support/child-bff';
import { emulatorRequests, injectFault, resetEmulator } from '../support/emulator-admin';

/** A span as the OTLP/HTTP JSON encoding carries it, with its attributes flattened. */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP's enum: 1 internal, 2 server, 3 client. */
  kind: number;
  startTimeUnixNano: string;
  attributes: Record<string, string | number | boolean>;
  status?: { code?: number };
  serviceName?: string;
}

const KIND = { internal: 1, server: 2, client: 3 } as const;

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpExport {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: Array<{ spans?: Array<Omit<ReceivedSpan, 'attributes' | 'serviceName'> & { attributes?: OtlpAttribute[] }> }>;
  }>;
}

const valueOf = (v: OtlpValue) => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue ?? ''));
const flatten = (attributes: OtlpAttribute[] = []) => Object.fromEntries(attributes.map((a) => [a.key, valueOf(a.value)]));

/** A collector stand-in: accepts `POST /v1/traces` (OTLP/HTTP JSON) and keeps every span. */
async function startOtlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const received = new EventEmitter();
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
      for (const resourceSpans of body.resourceSpans ?? []) {
        const serviceName = flatten(resourceSpans.resource?.attributes)['service.name'] as string | undefined;
        for (const scope of resourceSpans.scopeSpans ?? [])
          for (const span of scope.spans ?? []) spans.push({ ...span, attributes: flatten(span.attributes), serviceName });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      received.emit('spans');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  /** Resolves with the spans once `done` holds for them (checked on every export); fails after `timeoutMs`. */
  const waitFor = (done: (all: ReceivedSpan[]) => boolean, timeoutMs = 10_000) =>
    new Promise<ReceivedSpan[]>((resolve, reject) => {
      const check = () => {
        if (!done(spans)) return;
        finish();
        resolve(spans);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out waiting for spans; received:\n${JSON.stringify(spans, null, 1)}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        received.off('spans', check);
      };
      received.on('spans', check);
      check();
    });
  return { url, spans, paths, waitFor, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const smnCalls = async (emulator: RunningEmulator): Promise<RequestLogEntry[]> =>
  (await emulatorRequests(emulator)).filter((entry) => entry.path.startsWith('/v2/'));

/** Every JSON line the process printed. */
const logLines = (child: ChildBff): Array<Record<string, unknown>> =>
  child
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe('tracing (OpenTelemetry, OTLP/HTTP to a local receiver)', () => {
  let emulator: RunningEmulator;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  const apiKey = randomBytes(24).toString('base64url');
  const env = (extra: Record<string, string>) => ({
    SMN_EMULATOR: 'false',
    SMN_PROJECTS: `${PROJECT_ID}=${REGION}`,
    SMN_ENDPOINTS: `${REGION}=${emulator.url}`,
    SMN_ACCESS_KEY: DEMO_CREDENTIALS.ak,
    SMN_SECRET_KEY: DEMO_CREDENTIALS.sk,
    AUTH_API_KEYS: JSON.stringify([
      { name: 'tracing-e2e', sha256: createHash('sha256').update(apiKey).digest('hex'), scopes: ['sms-callback:read', 'sms-callback:write'], projects: '*' },
    ]),
    UPSTREAM_BACKOFF_BASE_MS: '10',
    UPSTREAM_BACKOFF_MAX_MS: '50',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    ...extra,
  });
  const send = (child: ChildBff, method: 'GET' | 'PUT', requestId: string, headers: Record<string, string> = {}) =>
    fetch(`${child.url}${CALLBACK_PATH}`, {
      method,
      headers: { 'x-api-key': apiKey, 'x-request-id': requestId, ...(method === 'PUT' ? { 'content-type': 'application/json' } : {}), ...headers },
      body: method === 'PUT' ? JSON.stringify(SEED_BODY) : undefined,
    });
  const serverSpanOf = (spans: ReceivedSpan[], requestId: string) => spans.find((s) => s.kind === KIND.server && s.attributes['bff.request_id'] === requestId);

  beforeAll(async () => {
    emulator = await startEmulator({ projects: [{ projectId: PROJECT_ID, region: REGION, topics: ['test_reply', 'test_fail', 'test_success'] }] });
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await emulator?.close();
  });

  describe('a running instance', () => {
    let child: ChildBff;
    beforeAll(async () => {
      // A short batch delay: spans reach the receiver a moment after each request.
      child = await startChildBff(env({ OTEL_BSP_SCHEDULE_DELAY: '50' }));
    });
    afterAll(async () => {
      child.process.kill('SIGTERM');
      expect(await child.exited).toBe(0);
    });
    beforeEach(() => resetEmulator(emulator));

    it('traces a PUT: the request, each upstream attempt (a retry its own), the audit transactions, in one trace', async () => {
      await injectFault(emulator, { kind: 'status', status: 503, count: 1, method: 'PUT' });
      const requestId = `trace-put-${randomBytes(4).toString('hex')}`;
      const res = await send(child, 'PUT', requestId);
      expect(res.status).toBe(200);

      const spans = await receiver.waitFor((all) => {
        const server = serverSpanOf(all, requestId);
        return !!server && all.filter((s) => s.parentSpanId === server.spanId).length >= 6;
      });
      const server = serverSpanOf(spans, requestId)!;
      const trace = spans.filter((s) => s.traceId === server.traceId);
      const children = trace.filter((s) => s.parentSpanId === server.spanId);

      expect(receiver.paths[0]).toMatch(/^POST \/v1\/traces application\/json/);
      expect(server).toMatchObject({
        name: 'PUT /v2/:project_id/notifications/sms/callback',
        serviceName: 'sms-callback-bff',
        attributes: {
          'http.request.method': 'PUT',
          'http.route': '/v2/:project_id/notifications/sms/callback',
          'http.response.status_code': 200,
          'url.path': CALLBACK_PATH,
          'enduser.id': 'tracing-e2e',
          'bff.caller.kind': 'api-key',
          'bff.request_id': requestId,
        },
      });
      expect(server.parentSpanId || undefined).toBeUndefined(); // no traceparent sent: a trace of its own

      // The upstream attempts: the read before the change, then the PUT, failed once and retried.
      const attempts = children.filter((s) => s.kind === KIND.client).sort((a, b) => a.startTimeUnixNano.localeCompare(b.startTimeUnixNano));
      expect(attempts.map((s) => [s.name, s.attributes['smn.operation'], s.attributes['smn.retry'], s.attributes['http.response.status_code']])).toEqual([
        ['GET /v2/{project_id}/notifications/sms/callback', 'listSmsCallbacks', 0, 200],
        ['PUT /v2/{project_id}/notifications/sms/callback', 'updateSmsCallbacks', 0, 503],
        ['PUT /v2/{project_id}/notifications/sms/callback', 'updateSmsCallbacks', 1, 200],
      ]);
      expect(attempts[1]).toMatchObject({ status: { code: 2 }, attributes: { 'error.type': '503' } });
      expect(attempts[2].attributes['http.request.resend_count']).toBe(1);

      // Each attempt's own traceparent reached SMN, and SMN's request id is on the span of the attempt it answered.
      const calls = await smnCalls(emulator);
      expect(calls.map((c) => [c.method, c.status])).toEqual([
        ['GET', 200],
        ['PUT', 503],
        ['PUT', 200],
      ]);
      calls.forEach((call, i) => {
        const [, traceId, spanId] = TRACEPARENT.exec(String(call.headers.traceparent)) ?? [];
        expect([traceId, spanId]).toEqual([server.traceId, attempts[i].spanId]);
        expect(attempts[i].attributes['smn.request_id']).toBe(call.request_id);
      });

      // The audit transactions, children of the request span.
      const audit = children.filter((s) => s.kind === KIND.internal).map((s) => s.name);
      expect(audit.sort()).toEqual(['audit.finalize', 'audit.intent', 'audit.lock']);
      expect(children.find((s) => s.name === 'audit.finalize')!.attributes).toMatchObject({ 'bff.audit.outcome': 'succeeded', 'bff.project_id': PROJECT_ID });

      // The caller's secret is on no span.
      for (const span of spans) expect(JSON.stringify(span)).not.toContain(apiKey);

      // Every line the request logged carries the trace id: the access line, the audit record.
      const lines = logLines(child).filter((line) => line.reqId === requestId);
      expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['audit record', 'request']));
      for (const line of lines) expect(line.trace_id).toBe(server.traceId);
    });

    it("continues the caller's trace (traceparent and tracestate in, the same trace id out to SMN)", async () => {
      const callerTraceId = randomBytes(16).toString('hex');
      const callerSpanId = randomBytes(8).toString('hex');
      const requestId = `trace-get-${randomBytes(4).toString('hex')}`;
      const res = await send(child, 'GET', requestId, { traceparent: `00-${callerTraceId}-${callerSpanId}-01`, tracestate: 'caller=e2e' });
      expect(res.status).toBe(200);

      const spans = await receiver.waitFor((all) => {
        const server = serverSpanOf(all, requestId);
        return !!server && all.some((s) => s.parentSpanId === server.spanId && s.kind === KIND.client);
      });
      const server = serverSpanOf(spans, requestId)!;
      expect(server).toMatchObject({ traceId: callerTraceId, parentSpanId: callerSpanId, name: 'GET /v2/:project_id/notifications/sms/callback' });
      const attempt = spans.find((s) => s.parentSpanId === server.spanId && s.kind === KIND.client)!;
      expect(attempt.traceId).toBe(callerTraceId);

      const [call] = await smnCalls(emulator);
      expect(call.headers.traceparent).toBe(`00-${callerTraceId}-${attempt.spanId}-01`);
      expect(call.headers.tracestate).toBe('caller=e2e');
      for (const line of logLines(child).filter((l) => l.reqId === requestId)) expect(line.trace_id).toBe(callerTraceId);
    });
  });

  it('exports the spans still buffered when the process is stopped (SIGTERM)', async () => {
    // A batch delay far longer than the test: the spans can only arrive through the flush at shutdown.
    const child = await startChildBff(env({ OTEL_BSP_SCHEDULE_DELAY: '600000' }));
    const requestId = `trace-stop-${randomBytes(4).toString('hex')}`;
    try {
      expect((await send(child, 'GET', requestId)).status).toBe(200);
      expect(serverSpanOf(receiver.spans, requestId)).toBeUndefined();
    } finally {
      child.process.kill('SIGTERM');
      expect(await child.exited).toBe(0);
    }
    expect(serverSpanOf(receiver.spans, requestId)).toMatchObject({ attributes: { 'http.response.status_code': 200 } });
  });
});
