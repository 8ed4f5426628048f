import { setMaxListeners } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import Fastify, { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { registerAdminApi } from './admin-api';
import { EmulatorState, RequestLogEntry } from './emulator-state';
import { APIG, APIG_AK_LOCKED_MESSAGE, APIG_AUTH_PREFIX, APIG_FORBIDDEN_MESSAGE, SMN, SmnError, SmnErrorBody, apigErrorBody, smnErrorBody } from './errors';
import { FaultEnvironment, applyFault } from './faults';
import { ProjectListBody, projectListBody } from './iam-projects';
import { IamUser, KeystoneErrorBody, TokenResponseBody, domainId, keystoneError } from './iam-tokens';
import { jsonBody, keepRawBodies, rawBody } from './raw-body';
import { verifySignature } from './signature-verifier';
import { CallbackItem, PROJECT_ID, isEventType, validateUpdate } from './smn-callbacks';

/**
 * A stand-in for Huawei Cloud SMN behind its API gateway: the SMS callback configuration API with
 * SMN's semantics and error codes, the gateway's AK/SK and token checks (with its AK lockout), the
 * two IAM calls clients make (tokens, and the project lookup of AK/SK clients), and an admin API
 * under /_emulator/ for topics, the request log, faults and lockouts.
 * Plain Fastify, no Nest: a benchmark drives it hard, and it must import nothing from the BFF.
 */

export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Region of projects that are not seeded; default `cn-north-4`. */
  region?: string;
  /**
   * The AK/SK pairs the gateway accepts; default the demo pair. `domain` is the account (domain)
   * name the key belongs to, default the first IAM user's: IAM's project list reports its id.
   */
  credentials?: Array<{ ak: string; sk: string; domain?: string }>;
  /** Seeded projects and topics; default the demo project. */
  projects?: Array<{ projectId: string; region: string; topics: string[] }>;
  /** IAM users for token mode; default the demo user. */
  iamUsers?: IamUser[];
  /** Lifetime of IAM tokens; default 86400 (24 h, as the real IAM). */
  tokenLifetimeSeconds?: number;
  /** Allowed difference between X-Sdk-Date and the emulator's clock; default 900 (15 min). */
  clockSkewSeconds?: number;
  /** Fastify's pino request logging; default false. */
  logger?: boolean;
  /**
   * The emulator's clock, in epoch milliseconds; default `Date.now`. It decides signature windows,
   * token lifetimes, AK lockouts and request-log times, so a test can move time instead of waiting.
   */
  clock?: () => number;
}

export interface RunningEmulator {
  /** Base URL for clients, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  /** Stops listening and ends every connection, hung ones included. */
  close(): Promise<void>;
  state: EmulatorState;
}

export interface BuiltEmulator {
  app: FastifyInstance;
  state: EmulatorState;
  close(): Promise<void>;
}

export const DEMO_CREDENTIALS = {
  ak: 'DEMOACCESSKEYID0000001',
  sk: 'demo-secret-access-key-not-for-production',
} as const;
export const DEMO_REGION = 'cn-north-4';
export const DEMO_PROJECT_ID = 'f96188c7ccaf4ffba0c9aa149ab2bd57';
export const DEMO_TOPICS = ['test_reply', 'test_fail', 'test_success'] as const;
export const DEMO_IAM_USER: IamUser = { name: 'demo-user', password: 'demo-password', domain: 'demo-domain' };

const CALLBACK_PATH = '/v2/:projectId/notifications/sms/callback';
/** APIG's limit for AK/SK-signed bodies. */
const BODY_LIMIT = 12 * 1024 * 1024;
const LOGGED_BODY_LIMIT = 64 * 1024;

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const { app, state, close } = buildEmulator(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://${clientHost(host)}:${port}`, port, state, close };
}

/** The emulator without a listening socket, e.g. for `app.inject()`. */
function buildEmulator(options: EmulatorOptions = {}): BuiltEmulator {
  const state = new EmulatorState({
    seed: options.projects ?? [{ projectId: DEMO_PROJECT_ID, region: DEMO_REGION, topics: [...DEMO_TOPICS] }],
    defaultRegion: options.region ?? DEMO_REGION,
    iamUsers: options.iamUsers ?? [DEMO_IAM_USER],
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 86_400,
  });
  const defaultDomain = (options.iamUsers ?? [DEMO_IAM_USER])[0]?.domain ?? DEMO_IAM_USER.domain;
  const credentials: NonNullable<EmulatorOptions['credentials']> = options.credentials ?? [DEMO_CREDENTIALS];
  const keys = new Map(credentials.map((c) => [c.ak, { sk: c.sk, domain: c.domain ?? defaultDomain }]));
  const clockSkewSeconds = options.clockSkewSeconds ?? 900;
  const now = options.clock ?? Date.now;

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    // Hung requests are not idle, so only closing every connection lets close() finish.
    forceCloseConnections: true,
    genReqId: newRequestId,
    requestIdHeader: false,
  });
  keepRawBodies(app, BODY_LIMIT);
  app.decorateRequest('logEntry', null);

  const closing = new AbortController();
  // Every delayed answer listens for the close: many at once is normal here, not a leak.
  setMaxListeners(0, closing.signal);
  const hung = new Set<Socket>();
  const faultEnvironment: FaultEnvironment = {
    signal: closing.signal,
    holdSocket(socket) {
      hung.add(socket);
      socket.once('close', () => hung.delete(socket));
    },
  };

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (request.url.startsWith('/v2/') || request.url.startsWith('/v3/')) {
      (request as Tracked).logEntry = state.requestLog.add(newLogEntry(request, now()));
    }
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const entry = logEntryOf(request);
    if (entry) {
      entry.status = reply.statusCode;
      entry.duration_ms = Math.round(reply.elapsedTime * 1000) / 1000;
    }
    done();
  });

  /** First step of every /v2 and /v3 route: the body into the log, then any injected fault. */
  async function injectFaults(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const entry = logEntryOf(request);
    if (entry) entry.body = loggedBody(request);
    const fault = state.faults.take(request.method, pathOf(request.url));
    if (!fault) return undefined;
    if (entry) entry.fault = { id: fault.id, kind: fault.kind };
    return (await applyFault(fault, reply, faultEnvironment)) ? reply : undefined;
  }

  /**
   * The API gateway's check in front of every SMN and IAM API: who called, or undefined when the
   * refusal has been sent. `projectId` is the project of a project-level API (SMN); a global one
   * (IAM) has none.
   */
  function passGateway(request: FastifyRequest, reply: FastifyReply, projectId?: string): Caller | undefined {
    const result = authenticate(request, projectId);
    const entry = logEntryOf(request);
    if (result.ok) {
      if (entry) entry.auth = result.auth;
      return result;
    }
    if (entry) entry.error_code = result.code;
    void reply.code(result.status).send(apigErrorBody(request.id, result.code, result.message));
    return undefined;
  }

  async function requireProjectAuth(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    return passGateway(request, reply, (request.params as { projectId: string }).projectId) ? undefined : reply;
  }

  function authenticate(request: FastifyRequest, projectId: string | undefined): AuthResult {
    const token = request.headers['x-auth-token'];
    let caller: Caller;
    // With both, the signature decides: a client that signs means to be judged by its signature.
    if (request.headers.authorization !== undefined || typeof token !== 'string') {
      const signed = checkSignature(request);
      if (!signed.ok) return signed;
      caller = signed;
    } else {
      const checked = state.tokens.check(token, now());
      if (!checked.ok) return denied(checked.reason === 'expired' ? 'token expired' : 'decrypt token fail');
      const { scope, user, domain } = checked.token;
      if (projectId !== undefined) {
        // A domain-scoped token names no project, so no project's API takes it. What SMN answers
        // then is not known; the emulator answers as the gateway does to a caller it knows but
        // does not let call the API.
        if (scope.kind === 'domain') {
          return { ok: false, status: 403, code: APIG.forbidden, message: APIG_FORBIDDEN_MESSAGE };
        }
        if (scope.id !== projectId) return denied(`token is not scoped to project ${projectId}`);
      }
      caller = { ok: true, auth: { mode: 'token', user }, domain };
    }
    const headerProject = request.headers['x-project-id'];
    if (projectId !== undefined && headerProject !== undefined && headerProject !== projectId) {
      return denied('X-Project-Id does not match the project in the request path');
    }
    return caller;
  }

  /** The AK/SK half of the gateway's check, lockout included. */
  function checkSignature(request: FastifyRequest): AuthResult {
    const nowMs = now();
    const verified = verifySignature(
      { method: request.method, url: request.url, headers: request.headers, body: rawBody(request) },
      { secretFor: (ak) => keys.get(ak)?.sk, nowMs, clockSkewSeconds },
    );
    const { accessKey } = verified;
    // A locked key is refused whatever else the request says, a correct signature included.
    if (accessKey !== undefined && state.lockout.isLocked(accessKey, nowMs)) {
      return { ok: false, status: 401, code: APIG.authFailed, message: APIG_AK_LOCKED_MESSAGE };
    }
    if (!verified.ok) {
      if (verified.reason === 'mismatch') state.lockout.recordFailure(accessKey!, nowMs);
      return { ok: false, status: 401, code: APIG.authFailed, message: verified.message };
    }
    state.lockout.recordSuccess(verified.accessKey);
    return { ok: true, auth: { mode: 'aksk', access_key: verified.accessKey }, domain: keys.get(verified.accessKey)!.domain };
  }

  const smnRoute = { preHandler: [injectFaults, requireProjectAuth] };

  app.get<{ Params: { projectId: string }; Querystring: { event_type?: unknown } }>(CALLBACK_PATH, smnRoute, (request, reply): ListResponse | SmnErrorBody => {
    const { projectId } = request.params;
    if (!PROJECT_ID.test(projectId)) return smnError(request, reply, 403, SMN.noPermission);
    const eventType = request.query.event_type;
    if (eventType !== undefined && !isEventType(eventType)) {
      return smnError(request, reply, 400, SMN.invalidEventType);
    }
    return { request_id: request.id, callback: state.callbacks(projectId, eventType) };
  });

  app.put<{ Params: { projectId: string } }>(CALLBACK_PATH, smnRoute, (request, reply): { request_id: string } | SmnErrorBody => {
    const { projectId } = request.params;
    if (!PROJECT_ID.test(projectId)) return smnError(request, reply, 403, SMN.noPermission);
    const validation = validateUpdate(jsonBody(request), {
      projectId,
      region: state.regionOf(projectId),
      hasTopic: (name) => state.hasTopic(projectId, name),
    });
    if (!validation.ok) return smnError(request, reply, 400, validation.error);
    state.applyCallbacks(projectId, validation.changes);
    return { request_id: request.id };
  });

  app.post<{ Querystring: { nocatalog?: unknown } }>(
    '/v3/auth/tokens',
    { preHandler: injectFaults },
    (request, reply): TokenResponseBody | KeystoneErrorBody => {
      // Any non-empty value leaves the catalog out, "false" too, as on IAM.
      const { nocatalog } = request.query;
      const catalog = nocatalog === undefined || nocatalog === '';
      const issued = state.tokens.issue(jsonBody(request), now(), { catalog });
      if (!issued.ok) {
        reply.code(issued.status);
        return keystoneError(issued.status, issued.message);
      }
      reply.code(201).header('x-subject-token', issued.token.token);
      return issued.body;
    },
  );

  app.get<{ Querystring: { name?: unknown } }>('/v3/projects', { preHandler: injectFaults }, (request, reply): ProjectListBody | FastifyReply => {
    const caller = passGateway(request, reply);
    if (!caller) return reply;
    const base = `${request.protocol}://${request.host}`;
    return projectListBody(state.iamProjects(), request.query, domainId(caller.domain), base, request.url);
  });

  registerAdminApi(app, state, now);

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(apigErrorBody(request.id, APIG.notFound, 'The API does not exist or has not been published in the environment.'));
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'emulator error');
      return reply.code(500).send(smnErrorBody(request.id, SMN.internal));
    }
    const message = status === 413 ? 'Request entity too large.' : 'API request error.';
    return reply.code(status === 413 ? 413 : 400).send(apigErrorBody(request.id, APIG.badRequest, message));
  });

  let closed: Promise<void> | undefined;
  function close(): Promise<void> {
    closed ??= (async () => {
      closing.abort();
      for (const socket of hung) socket.destroy();
      await app.close();
    })();
    return closed;
  }

  return { app, state, close };
}

interface ListResponse {
  request_id: string;
  callback: CallbackItem[];
}

/** Who passed the gateway: how, and the domain (account) the key or token belongs to. */
interface Caller {
  ok: true;
  auth: NonNullable<RequestLogEntry['auth']>;
  domain: string;
}

type AuthResult = Caller | { ok: false; status: 401 | 403; code: string; message: string };

function denied(detail: string): AuthResult {
  return { ok: false, status: 401, code: APIG.authFailed, message: APIG_AUTH_PREFIX + detail };
}

type Tracked = FastifyRequest & { logEntry: RequestLogEntry | null };

function logEntryOf(request: FastifyRequest): RequestLogEntry | null {
  return (request as Tracked).logEntry;
}

/** SMN's request ids are 32 lower-case hex characters. */
function newRequestId(): string {
  return randomUUID().replace(/-/g, '');
}

function newLogEntry(request: FastifyRequest, nowMs: number): RequestLogEntry {
  const callerId = request.headers['x-request-id'];
  return {
    seq: 0,
    request_id: request.id,
    caller_request_id: typeof callerId === 'string' ? callerId : null,
    time: new Date(nowMs).toISOString(),
    method: request.method,
    url: request.url,
    path: pathOf(request.url),
    query: request.query as Record<string, unknown>,
    headers: request.headers,
    body: null,
    auth: null,
    status: null,
    error_code: null,
    duration_ms: null,
    fault: null,
  };
}

function loggedBody(request: FastifyRequest): string | null {
  const raw = rawBody(request);
  if (raw === undefined || raw.length === 0) return null;
  // The IAM request carries a password; the log is served by an unauthenticated admin API.
  if (request.url.startsWith('/v3/auth/')) return '[redacted]';
  return raw.toString('utf8', 0, Math.min(raw.length, LOGGED_BODY_LIMIT));
}

function smnError(request: FastifyRequest, reply: FastifyReply, status: number, error: SmnError): SmnErrorBody {
  const entry = logEntryOf(request);
  if (entry) entry.error_code = error.code;
  reply.code(status);
  return smnErrorBody(request.id, error);
}

function pathOf(url: string): string {
  const queryAt = url.indexOf('?');
  return queryAt === -1 ? url : url.slice(0, queryAt);
}

/** Where a client should connect to reach a server bound to `host`. */
function clientHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
