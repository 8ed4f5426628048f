import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { configureHttp, createHttpAdapter } from './common/http-setup';
import { PinoNestLogger, createLogger } from './common/logger';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { buildOpenApiDocument } from './openapi/openapi-document';

/** Builds a ready-to-listen app; the server, the OpenAPI generator and the tests all start here. */
export async function createApp(config: AppConfig, logger: Logger = createLogger(config.log)): Promise<NestFastifyApplication> {
  const trustProxy = config.http.trustedProxies.length ? config.http.trustedProxies : false;
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), createHttpAdapter(logger, { trustProxy }), {
    logger: new PinoNestLogger(logger),
    abortOnError: false,
  });
  configureHttp(app);
  app.useGlobalPipes(createValidationPipe());
  app.enableCors({ origin: config.http.corsOrigins.length ? config.http.corsOrigins : false, credentials: false });
  app.enableShutdownHooks();
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
