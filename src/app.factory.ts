import { NestFactory } from '@nestjs/core';
import type { NestApplicationOptions } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { corsOptions } from './common/cors';
import { configureHttp, createHttpAdapter } from './common/http-setup';
import { PinoNestLogger, createLogger } from './common/logger';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { buildOpenApiDocument } from './openapi/openapi-document';
import { Tracing } from './tracing/tracing';

export interface CreateAppOptions {
  logger?: Logger;
  /** Runs when the app closes, after in-flight requests (e.g. stops the embedded emulator). */
  onClose?: () => Promise<void>;
}

/** Builds a ready-to-listen app; the server, the OpenAPI generator and the tests all start here. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const logger = options.logger ?? createLogger(config.log);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, logger), ...appAdapterAndOptions(config, logger));
  configureApp(app, config);
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
  const fastify = app.getHttpAdapter().getInstance();
  if (options.onClose) fastify.addHook('onClose', options.onClose);
  await app.init();
  await fastify.ready();
  return app;
}

/** The HTTP adapter and Nest options every app instance is built with (also by tests that override providers). */
export function appAdapterAndOptions(config: AppConfig, logger: Logger): [FastifyAdapter, NestApplicationOptions] {
  const trustProxy = config.http.trustedProxies.length ? config.http.trustedProxies : false;
  return [
    createHttpAdapter(logger, { trustProxy, timeouts: config.server }),
    {
      logger: new PinoNestLogger(logger),
      abortOnError: false,
      // Fastify's own JSON parser (with the body limit and prototype-poisoning checks) is the only parser:
      // Nest's would add url-encoded forms, and this API takes JSON only.
      bodyParser: false,
    },
  ];
}

/** What every app instance needs before init: the HTTP setup, the validation pipe and CORS. */
export function configureApp(app: NestFastifyApplication, config: AppConfig): void {
  configureHttp(app, app.get(Tracing));
  app.useGlobalPipes(createValidationPipe());
  // Only when origins are configured: the CORS hook costs ~3% of a GET even when it allows nothing.
  if (config.http.corsOrigins.length) app.enableCors(corsOptions(config.http.corsOrigins));
}
