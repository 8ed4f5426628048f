import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';

/**
 * DI token of the one pino logger. Components take a child with their name (`logger.child({ component })`);
 * lines logged inside a request carry its id (see createLogger). Nest's own messages reach the same logger
 * through PinoNestLogger, and the access log is Fastify's request logger: one logger, one line format.
 */
export const APP_LOGGER = Symbol('APP_LOGGER');

@Module({})
export class LoggingModule {
  static forRoot(logger: Logger): DynamicModule {
    return { module: LoggingModule, global: true, providers: [{ provide: APP_LOGGER, useValue: logger }], exports: [APP_LOGGER] };
  }
}
