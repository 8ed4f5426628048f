import { Body, Controller, Get, LoggerService, Param, Put } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import pino, { type Logger } from 'pino';
import type { Response } from 'supertest';
import { AuthEvents } from '../../../src/auth/auth-events';
import { AuthModule } from '../../../src/auth/auth.module';
import { AUTH_CLOCK, type AuthClock, type AuthOptions } from '../../../src/auth/auth.options';
import type { RateLimitOptions } from '../../../src/rate-limit/rate-limit.options';
import { Authenticated } from '../../../src/auth/authenticated.decorator';
import { Scope } from '../../../src/auth/caller';
import { configureHttp, createHttpAdapter } from '../../../src/common/http-setup';
import { LoggingModule } from '../../../src/common/logging.module';
import { RateLimitModule } from '../../../src/rate-limit/rate-limit.module';
import { REQUEST_GUARDS } from '../../../src/request-guards';
import { OutboundHttpModule } from '../../../src/http/outbound-http.module';

export const PROJECT_A = 'a'.repeat(32);
export const PROJECT_B = 'b'.repeat(32);

@Controller()
class ThingController {
  @Get('v2/:project_id/thing')
  @Authenticated(Scope.SmsCallbackRead)
  read(@Param('project_id') projectId: string): { project_id: string } {
    return { project_id: projectId };
  }

  @Put('v2/:project_id/thing')
  @Authenticated(Scope.SmsCallbackWrite)
  write(@Param('project_id') projectId: string, @Body() _body: unknown): { project_id: string } {
    return { project_id: projectId };
  }

  @Get('audit/things')
  @Authenticated(Scope.AuditRead)
  audit(): { ok: true } {
    return { ok: true };
  }

  @Get('public')
  open(): { ok: true } {
    return { ok: true };
  }
}

/** Generous defaults so that only the rate-limit suite ever meets a limit. */
export const NO_LIMITS: RateLimitOptions = {
  caller: { ttlMs: 60_000, limit: 10_000 },
  anonymousIp: { ttlMs: 60_000, limit: 10_000 },
};

export interface AppOptions {
  auth: Partial<AuthOptions>;
  rateLimit?: RateLimitOptions;
  logger?: Logger;
  nestLogger?: LoggerService | false;
  /** Runs before the app starts, e.g. to add Fastify hooks. */
  configure?: (app: NestFastifyApplication) => void;
  /** The clock of authentication (the `X-Sdk-Date` window); default `Date.now`. */
  clock?: AuthClock;
}

/** The test controller behind the real auth module, HTTP setup and error filter. */
export async function createAuthTestApp(options: AppOptions): Promise<NestFastifyApplication> {
  const auth: AuthOptions = { nodeEnv: 'test', apiKeys: [], developmentKey: false, ...options.auth };
  const moduleRef = await Test.createTestingModule({
    // The JWKS is fetched through the outbound HTTP module, as in the app.
    imports: [
      LoggingModule.forRoot(options.logger ?? pino({ level: 'silent' })),
      OutboundHttpModule.forRoot(),
      AuthModule.forRoot(auth),
      RateLimitModule.forRoot(options.rateLimit ?? NO_LIMITS),
    ],
    controllers: [ThingController],
    providers: REQUEST_GUARDS,
  })
    .overrideProvider(AUTH_CLOCK)
    .useValue(options.clock ?? Date.now)
    .setLogger(options.nestLogger || silentNestLogger)
    .compile();
  // As the real app: Fastify's JSON parser (behind our nesting limit) is the only one.
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createHttpAdapter(options.logger ?? pino({ level: 'silent' })), { bodyParser: false });
  configureHttp(app);
  options.configure?.(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

const silentNestLogger: LoggerService = { log() {}, error() {}, warn() {} };

/** Every refusal carries the one envelope and the request id of the response. */
export function expectRefusal(res: Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(Object.keys(res.body).sort()).toEqual(['code', 'message', 'request_id']);
  expect(typeof res.body.message).toBe('string');
  expect(res.body.request_id).toBe(res.headers['x-request-id']);
}

export function expectUnauthenticated(res: Response, invalidToken = true): void {
  expectRefusal(res, 401, 'BFF.UNAUTHENTICATED');
  expect(res.headers['www-authenticate']).toBe(invalidToken ? 'Bearer realm="sms-callback-bff", error="invalid_token"' : 'Bearer realm="sms-callback-bff"');
}

/** Collects the reasons of the app's auth failures from now on (the metrics hook). */
export function failureReasons(app: NestFastifyApplication): string[] {
  const reasons: string[] = [];
  app.get(AuthEvents).onFailure((event) => reasons.push(event.reason));
  return reasons;
}
