import { DynamicModule, Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import type { RateLimitOptions } from '../rate-limit/rate-limit.options';
import { ApiKeyAuthenticator } from './api-key-auth.service';
import { AuthEvents } from './auth-events.service';
import { AuthGuard } from './auth.guard';
import { AUTH_OPTIONS, DEVELOPMENT_API_KEY, type AuthOptions } from './auth.options';
import { CallerAuthenticator } from './caller-authenticator.service';
import { JwtAuthenticator } from './jwt-auth.service';

/**
 * Caller authentication, rate limiting and authorization for every `@Authenticated` route, as one global
 * guard. Exports `AuthEvents` (auth failures by reason, for metrics).
 */
@Module({})
export class AuthModule {
  /** `options` as the configuration validated them (production rules included); not checked again here. */
  static forRoot(options: AuthOptions, rateLimit: RateLimitOptions): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      imports: [RateLimitModule.forRoot(rateLimit)],
      providers: [
        { provide: AUTH_OPTIONS, useValue: options },
        { provide: CallerAuthenticator, useFactory: () => createAuthenticator(options) },
        AuthEvents,
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
      // RateLimitModule too: the audit of refused attempts charges the per-IP budget of requests the guard never saw.
      exports: [AuthEvents, AUTH_OPTIONS, RateLimitModule],
    };
  }
}

function createAuthenticator(options: AuthOptions): CallerAuthenticator {
  if (options.developmentKey) {
    new Logger('Auth').warn(
      `No caller authentication is configured: the development key "${DEVELOPMENT_API_KEY}" (X-Api-Key) is accepted ` +
        'with every scope on every project. Configure JWT or API keys before exposing this service.',
    );
  }
  const jwt = options.jwt ? JwtAuthenticator.fromOptions(options.jwt) : undefined;
  return new CallerAuthenticator(jwt, new ApiKeyAuthenticator(options.apiKeys, options.developmentKey));
}
