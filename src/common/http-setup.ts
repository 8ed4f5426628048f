import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController } from 'fastify';
import type { Logger } from 'pino';
import { AllErrorsFilter } from './all-errors.filter';
import { answerClientError } from './client-errors';
import { inheritedNames, keepBodylessBytes, unknownProperties, useJsonBodyParser } from './json-body';
import { requestContext } from './request-context';
import { REQUEST_ID_HEADER, requestIdFor } from './request-id';

/** The body limit of the API (README, API). */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** The Fastify adapter as the BFF runs it: pino logger, sane request ids, 64 KiB bodies. */
export function createHttpAdapter(logger: Logger, options: { trustProxy?: string[] | boolean } = {}): FastifyAdapter {
  return new FastifyAdapter({
    loggerInstance: logger,
    // One access-log line per request is written in onResponse below, not Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdFor,
    requestIdHeader: false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Room for oversized credentials to reach the guard and get a proper 401 envelope instead of Node's bare 431.
    http: { maxHeaderSize: 32 * 1024 },
    trustProxy: options.trustProxy ?? false,
    clientErrorHandler: answerClientError,
    // Long enough that an over-long project id reaches authentication and validation (a 400 in the envelope)
    // instead of the router's own 414 before either.
    routerOptions: { maxParamLength: 1024 },
    // Prototype-poisoning keys are refused by the JSON parser rather than passed on.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
}

/** Wires what every app instance needs (real server and tests alike): envelope, request id, access log. */
export function configureHttp(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
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
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
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
