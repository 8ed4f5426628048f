import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { activeTraceIds } from '../tracing/active-span';
import { requestContext } from './request-context';
import { StartupError } from './startup-error';

/** Headers that carry credentials: never written to a log line. */
const REDACTED = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'headers["x-auth-token"]',
];

export function createLogger(options: { level: string; pretty: boolean }): Logger {
  return pino(
    {
      level: options.level,
      redact: { paths: REDACTED, censor: '[redacted]' },
      // Lines logged inside a request through the root logger (services, Nest) still carry its id, and with
      // tracing on the active span's trace and span ids; Fastify's request logger already binds them.
      mixin: (_object, _level, logger) => {
        const context = requestContext.current();
        const trace = activeTraceIds();
        if (!context && !trace) return {};
        const bound = boundFields(logger);
        return {
          ...(context && !bound.includes('"reqId":') ? { reqId: context.requestId } : {}),
          ...(trace && !bound.includes('"trace_id":') ? trace : {}),
        };
      },
      transport: options.pretty ? { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } : undefined,
    },
    // Asynchronous writes: a request no longer waits for its log line's write(2), and lines written while one is
    // in flight go out together (docs/performance.md, Logging). Nothing waits for a buffer to fill, so a line
    // still leaves at once; pino flushes what is pending when the process exits.
    options.pretty ? undefined : pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * The fields a (child) logger binds, as pino keeps them: serialised JSON text. Reading it is a property access;
 * `logger.bindings()` would parse it again for every line.
 */
function boundFields(logger: Logger): string {
  return ((logger as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym] as string | undefined) ?? '';
}

/**
 * Writes text for people (the start banner) into the log's own stream, so that it comes after every line
 * logged before it: pino writes asynchronously, and a direct write to stdout would overtake them. Lines that
 * are not JSON pass through pino-pretty as they are.
 */
export function writeAfterLogs(logger: Logger, text: string): void {
  (logger as unknown as Record<symbol, NodeJS.WritableStream>)[pino.symbols.streamSym].write(text);
}

/** Nest's own messages (boot, routes, lifecycle) go to the same pino logger. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    // A start-up failure thrown while Nest builds the app is printed once, as one line, by main.ts.
    if (message instanceof StartupError) return;
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}
