import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyError, FastifyReply, FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/app-config';
import { traceRequests } from '../tracing/request-spans';
import { Tracing } from '../tracing/tracing';
import { AllErrorsFilter } from './all-errors.filter';
import { BffError } from './bff-error';
import { answerClientError, answerConnectRequest, answerUnmetExpectation } from './client-errors';
import { ErrorCode } from './error-codes';
import { toErrorReply } from './error-envelope';
import { inheritedNames, keepBodylessBytes, unknownProperties, useJsonBodyParser } from './json-body';
import { requestContext } from './request-context';
import { REQUEST_ID_HEADER, requestIdFor } from './request-id';

/** The body limit of the API (README, API). */
export const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * The Fastify adapter as the BFF runs it: pino logger, sane request ids, 64 KiB bodies, and the timeouts that
 * free a connection from a slow or stalled caller (README, Timeouts and encodings). Without `timeouts` (tests that build an
 * adapter without a configuration) the framework's own apply.
 */
export function createHttpAdapter(logger: Logger, options: { trustProxy?: string[] | boolean; timeouts?: ServerConfig } = {}): FastifyAdapter {
  const timeouts = options.timeouts ? connectionTimeouts(options.timeouts) : { http: {} };
  return new FastifyAdapter({
    ...timeouts,
    loggerInstance: logger,
    // One access-log line per request is written in onResponse below, not Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdFor,
    requestIdHeader: false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Room for oversized credentials to reach the guard and get a proper 401 envelope instead of Node's bare 431.
    http: {
      maxHeaderSize: 32 * 1024,
      // Node would answer a request without Host with an empty 400 of its own; the onRequest hook below
      // refuses it in the envelope instead.
      requireHostHeader: false,
      ...timeouts.http,
    },
    trustProxy: options.trustProxy ?? false,
    clientErrorHandler: answerClientError,
    // The router's own refusals (a malformed percent-encoding, a parameter over maxParamLength) in the
    // envelope, instead of Fastify's body that quotes the path back.
    frameworkErrors: answerFrameworkError,
    // Long enough that an over-long project id reaches authentication and validation (a 400 in the envelope)
    // instead of the router's own 414 before either.
    routerOptions: { maxParamLength: 1024 },
    // Prototype-poisoning keys are refused by the JSON parser rather than passed on.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
}

/**
 * Node's headers and request timeouts (each answered with 408 in the envelope by `answerClientError`, then
 * closed), and the idle time of a kept-alive connection. Node checks the first two on an interval (30 s by
 * default, which would let a stalled caller hold its connection three times as long): a tenth of the shorter
 * one here, so a connection is closed within 110% of its timeout.
 */
function connectionTimeouts(timeouts: ServerConfig) {
  const checkEveryMs = Math.min(1_000, Math.max(50, Math.floor(Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs) / 10)));
  return {
    http: { headersTimeout: timeouts.headersTimeoutMs, requestTimeout: timeouts.requestTimeoutMs, connectionsCheckingInterval: checkEveryMs },
    // Fastify sets these on the server after creating it (its 0 would turn Node's request timeout off).
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
  };
}

function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { status, headers, body } = toErrorReply(error, request.id);
  request.errorCode = body.code;
  void reply
    .status(status)
    .headers({ ...headers, [REQUEST_ID_HEADER]: request.id })
    .type('application/json; charset=utf-8')
    .send(body);
}

/**
 * Wires what every app instance needs (real server and tests alike): envelope, request id, access log, and the
 * request spans when tracing is on.
 */
export function configureHttp(app: NestFastifyApplication, tracing: Tracing = Tracing.DISABLED): void {
  const fastify = app.getHttpAdapter().getInstance();
  // First, so that every request has its span, also those that a hook below refuses.
  traceRequests(fastify, tracing);
  // Nest routes Fastify's own errors (body too large, bad JSON, wrong media type) through the same global
  // filter, so this one filter writes every error body.
  // JSON only: without this, text/plain bodies would be parsed as strings instead of answering 415.
  fastify.removeContentTypeParser('text/plain');
  useJsonBodyParser(fastify);
  keepBodylessBytes(fastify);
  // Query strings by the same own-property rule as bodies (json-body.ts).
  fastify.addHook('preValidation', (request, _reply, done) => {
    const inherited = inheritedNames(request.query);
    done(inherited.length ? unknownProperties(inherited) : undefined);
  });
  // An `Expect` other than 100-continue: Node would answer an empty 417 of its own.
  fastify.server.on('checkExpectation', answerUnmetExpectation);
  fastify.server.on('connect', answerConnectRequest);
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    // The CORS hook (cors.ts) runs first and answers every preflight: any other OPTIONS that found a route
    // found the CORS plugin's catch-all one (whose errors would bypass the one filter), and no route of this
    // API serves the method.
    if (request.method === 'OPTIONS' && !request.is404) {
      reply.callNotFound();
      return;
    }
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is refused with 400.
    const { httpVersionMajor, httpVersionMinor } = request.raw;
    if (httpVersionMajor === 1 && httpVersionMinor >= 1 && request.headers.host === undefined) {
      done(new BffError(400, ErrorCode.ValidationFailed, 'An HTTP/1.1 request needs a Host header.'));
      return;
    }
    done();
  });
  // After body parsing, so the handler, guards and the upstream adapter all run inside the context.
  fastify.addHook('preHandler', (request, _reply, done) => requestContext.run({ requestId: request.id }, done));
  fastify.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url,
        // The path only: a query string may carry what must never be logged (e.g. a misplaced API key).
        path: request.url.split('?', 1)[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        code: request.errorCode,
        caller: request.caller?.subject,
      },
      'request',
    );
    done();
  });
  app.useGlobalFilters(new AllErrorsFilter());
}
