import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import pino from 'pino';
import { appAdapterAndOptions, configureApp } from '../../../src/app.factory';
import { AppModule } from '../../../src/app.module';
import { AuditSigningKey } from '../../../src/audit/audit-signing-key';
import { AuditStore } from '../../../src/audit/audit.store';
import type { AuditRecord } from '../../../src/audit/audit.types';
import { verifyAuditChain } from '../../../src/audit/verify-audit-chain';
import { PinoNestLogger } from '../../../src/common/logger';
import { MetricsService } from '../../../src/metrics/metrics.service';
import { DEVELOPMENT_API_KEY } from '../../../src/auth/auth.options';
import type { AppConfig } from '../../../src/config/app-config';
import { loadConfig } from '../../../src/config/load-config';
import { SmnPort } from '../../../src/smn/smn.port';
import { conformingInjection } from '../../support/openapi-conformance';
import { FakeSmnPort } from './fake-smn.port';
import { MemoryAuditStore } from './memory-audit.store';

/** The project the contract app serves, with the topics its fake SMN knows. */
export const PROJECT_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
export const REGION = 'cn-north-4';
/** A second served project, in another region (for project-scoped keys). */
export const OTHER_PROJECT_ID = '1a2b3c4d5e6f70819203a4b5c6d7e8f9';
export const OTHER_REGION = 'ap-southeast-1';
/** Well formed but served by nobody: 404 without calling SMN. */
export const UNSERVED_PROJECT_ID = 'ffffffffffffffffffffffffffffffff';
export const TOPICS = ['test_reply', 'test_fail', 'test_success'];

export const callbackPath = (projectId = PROJECT_ID) => `/v2/${projectId}/notifications/sms/callback`;
export const urn = (topic: string, projectId = PROJECT_ID, region = REGION) => `urn:smn:${region}:${projectId}:${topic}`;

export const SEED_BODY = {
  callback: [
    { event_type: 'sms_reply_event', topic_urn: urn('test_reply') },
    { event_type: 'sms_fail_event', topic_urn: urn('test_fail') },
    { event_type: 'sms_success_event', topic_urn: urn('test_success') },
  ],
};

export const DEV_KEY = DEVELOPMENT_API_KEY;

/** An API key as a caller holds it, with its configuration entry (by hash). */
export interface TestApiKey {
  key: string;
  entry: { name: string; sha256: string; scopes: string[]; projects: string[] | '*' };
}

export function apiKey(name: string, scopes: string[], projects: string[] | '*'): TestApiKey {
  const key = randomBytes(24).toString('base64url');
  return { key, entry: { name, sha256: createHash('sha256').update(key).digest('hex'), scopes, projects } };
}

export const apiKeysEnv = (keys: TestApiKey[]) => JSON.stringify(keys.map((k) => k.entry));

export interface ContractRequest {
  /** `X-Api-Key`; `null` sends none. Default: the app's default key. */
  key?: string | null;
  headers?: Record<string, string>;
  /** A fresh sane one by default, so every request is easy to find in the audit. */
  requestId?: string;
}

export interface ContractApp {
  app: NestFastifyApplication;
  config: AppConfig;
  smn: FakeSmnPort;
  store: MemoryAuditStore;
  /** Every line logged at `warn` and above (or the level given), parsed. */
  logs: Array<Record<string, unknown>>;
  /** Every route the app serves (Fastify's `onRoute`), e.g. `{ method: 'GET', url: '/health/live' }`. */
  routes: ServedRoute[];
  /** A request through Fastify's injection (no socket); the answer is checked against the committed spec. */
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  get(path: string, options?: ContractRequest): Promise<LightMyRequestResponse>;
  /** `body` is sent as JSON unless it is a string (sent as it is, with the given Content-Type). */
  put(path: string, body: unknown, options?: ContractRequest): Promise<LightMyRequestResponse>;
  /** The audit records of one request (by its X-Request-Id). */
  recordsOf(requestId: string): AuditRecord[];
  /** Recomputes the chain and checks every signature with the app's key. */
  verifyChain(): ReturnType<typeof verifyAuditChain>;
  /**
   * The text the metrics listener would serve, read from the registry: the contract app opens no socket
   * (METRICS_PORT=off); the listener itself is tested with real ports (test/e2e/metrics.e2e.spec.ts).
   */
  scrape(): Promise<string>;
  close(): Promise<void>;
}

export interface ServedRoute {
  method: string;
  url: string;
}

export interface ContractAppOptions {
  /** Overrides of the environment, exactly as variables would. */
  env?: Record<string, string>;
  /** `X-Api-Key` sent when a request names none. */
  defaultKey?: string;
  smn?: FakeSmnPort;
  store?: MemoryAuditStore;
}

/** One signing key per test process: generating it per app would cost more than the app. */
let signingKeyPem: string | undefined;
const testSigningKey = () => (signingKeyPem ??= generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

let sequence = 0;
/** A sane X-Request-Id (kept by the BFF as the correlation id). */
export const newRequestId = (label = 'req') => `${label}-${process.pid}-${++sequence}-${randomBytes(4).toString('hex')}`;

/**
 * The real app — every module, the request guards, the validation pipe, the error filter, the change
 * attempt lifecycle and the audit service — with the two outside systems replaced: SMN by `FakeSmnPort`
 * and the audit database by `MemoryAuditStore`. Nothing listens on a socket and nothing touches the disk.
 */
export async function startContractApp(options: ContractAppOptions = {}): Promise<ContractApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SMN_EMULATOR: 'false',
    SMN_PROJECTS: `${PROJECT_ID}=${REGION},${OTHER_PROJECT_ID}=${OTHER_REGION}`,
    // Nothing listens there: a call that escaped the fake fails fast instead of reaching anything.
    SMN_ENDPOINTS: `${REGION}=http://127.0.0.1:9,${OTHER_REGION}=http://127.0.0.1:9`,
    SMN_ACCESS_KEY: 'contract-test-ak',
    SMN_SECRET_KEY: 'contract-test-sk',
    AUDIT_SIGNING_KEY: testSigningKey(),
    METRICS_PORT: 'off',
    // Unused by the memory store; set so that nothing could default to ./data.
    DATA_DIR: '/nonexistent/contract-tests',
    CHANGE_LOCK_WAIT_MS: '200',
    // Only the rate-limit cases meet a limit: all injected requests come from one address.
    RATE_LIMIT_CALLER_LIMIT: '100000',
    RATE_LIMIT_ANONYMOUS_LIMIT: '100000',
    ...options.env,
  });
  const smn = options.smn ?? defaultFakeSmn();
  const store = options.store ?? new MemoryAuditStore();
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: config.log.level }, { write: (line: string) => void logs.push(JSON.parse(line)) });

  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config, logger)] })
    .overrideProvider(SmnPort)
    .useValue(smn)
    .overrideProvider(AuditStore)
    .useValue(store)
    .setLogger(new PinoNestLogger(logger))
    .compile();

  const app = moduleRef.createNestApplication<NestFastifyApplication>(...appAdapterAndOptions(config, logger));
  const routes: ServedRoute[] = [];
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url });
    });
  configureApp(app, config);
  await app.init();
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.ready();

  const defaultKey = options.defaultKey ?? DEV_KEY;
  const headersOf = (request: ContractRequest = {}) => {
    const key = request.key === undefined ? defaultKey : request.key;
    return {
      'x-request-id': request.requestId ?? newRequestId(),
      ...(key === null ? {} : { 'x-api-key': key }),
      ...request.headers,
    };
  };
  // Every answer a contract test receives is checked against the committed spec (openapi-conformance.ts).
  const inject = async (injectOptions: InjectOptions) => conformingInjection(injectOptions, await fastify.inject(injectOptions));

  return {
    app,
    config,
    smn,
    store,
    logs,
    routes,
    inject,
    get: (path, request) => inject({ method: 'GET', url: path, headers: headersOf(request) }),
    put: (path, body, request = {}) =>
      typeof body === 'string'
        ? inject({ method: 'PUT', url: path, payload: body, headers: { 'content-type': 'application/json', ...headersOf(request) } })
        : inject({ method: 'PUT', url: path, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headersOf(request) } }),
    recordsOf: (requestId) => store.recordsOf(requestId),
    verifyChain: () => verifyAuditChain(store, app.get(AuditSigningKey).publicKey),
    scrape: () => app.get(MetricsService).registry.metrics(),
    close: () => app.close(),
  };
}

/** SMN with the two served projects, their topics, and nothing configured yet. */
export function defaultFakeSmn(): FakeSmnPort {
  return new FakeSmnPort().addProject(PROJECT_ID, REGION, TOPICS).addProject(OTHER_PROJECT_ID, OTHER_REGION, TOPICS);
}

/** The one envelope every error leaves with, its request id in the `X-Request-Id` header. */
export function expectEnvelope(res: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  const body = res.json() as Record<string, unknown>;
  expect({ status: res.statusCode, code: body.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(body).toEqual(expect.objectContaining({ request_id: expect.any(String), code: expect.any(String), message: expect.any(String) }));
  expect(Object.keys(body).every((k) => ['request_id', 'code', 'message', 'errors', 'upstream'].includes(k))).toBe(true);
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
  const upstream = body.upstream as { request_id?: string } | undefined;
  // SMN's id when SMN answered, else this service's correlation id.
  expect(body.request_id).toBe(upstream?.request_id ?? res.headers['x-request-id']);
  return body;
}
