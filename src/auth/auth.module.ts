import { HttpService } from '@nestjs/axios';
import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { APP_LOGGER } from '../common/logging.module';
import { AccessKeyAuthenticator } from './access-key.authenticator';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { AuthEvents } from './auth-events';
import { AUTH_CLOCK, AUTH_OPTIONS, DEVELOPMENT_API_KEY, type AuthClock, type AuthOptions } from './auth.options';
import { CallerAuthenticator } from './caller.authenticator';
import { JwtAuthenticator } from './jwt.authenticator';

/**
 * Caller authentication and authorization for every `@Authenticated` route: the authenticator and the
 * failure events (auth failures by reason, for metrics). The guards are wired, in order, by the composition
 * root (src/request-guards.ts). The JWKS is fetched with the `HttpService` of the global outbound HTTP module.
 */
@Module({})
export class AuthModule {
  /** `options` as the configuration validated them (production rules included); not checked again here. */
  static forRoot(options: AuthOptions): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      providers: [
        { provide: AUTH_OPTIONS, useValue: options },
        { provide: AUTH_CLOCK, useValue: Date.now },
        {
          provide: CallerAuthenticator,
          inject: [HttpService, APP_LOGGER, AUTH_CLOCK],
          useFactory: (http: HttpService, logger: Logger, clock: AuthClock) => createAuthenticator(options, http, logger.child({ component: 'auth' }), clock),
        },
        AuthEvents,
      ],
      exports: [AuthEvents, AUTH_OPTIONS, CallerAuthenticator],
    };
  }
}

function createAuthenticator(options: AuthOptions, http: HttpService, logger: Logger, clock: AuthClock): CallerAuthenticator {
  if (options.developmentKey) {
    logger.warn(
      `No caller authentication is configured: the development key "${DEVELOPMENT_API_KEY}" (X-Api-Key) is accepted ` +
        'with every scope on every project. Configure JWT, API keys or access keys before exposing this service.',
    );
  }
  const jwt = options.jwt ? JwtAuthenticator.fromOptions(options.jwt, http, logger) : undefined;
  return new CallerAuthenticator(
    jwt,
    new ApiKeyAuthenticator(options.apiKeys, options.developmentKey),
    new AccessKeyAuthenticator(options.accessKeys ?? [], clock),
  );
}
