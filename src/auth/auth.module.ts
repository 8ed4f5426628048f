import { HttpService } from '@nestjs/axios';
import { DynamicModule, Logger, Module } from '@nestjs/common';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { AuthEvents } from './auth-events';
import { assertAuthConfiguration, AUTH_OPTIONS, DEVELOPMENT_API_KEY, type AuthOptions } from './auth.options';
import { CallerAuthenticator } from './caller.authenticator';
import { JwtAuthenticator } from './jwt.authenticator';

/**
 * Caller authentication and authorization for every `@Authenticated` route: the authenticator and the
 * failure events (auth failures by reason, for metrics). The guards are wired, in order, by the composition
 * root (src/request-guards.ts). The JWKS is fetched with the `HttpService` of the global outbound HTTP module.
 */
@Module({})
export class AuthModule {
  static forRoot(options: AuthOptions): DynamicModule {
    // Also checked by the boot code; repeated here so that no wiring can start production with the dev key.
    assertAuthConfiguration(options, options.nodeEnv);
    return {
      module: AuthModule,
      global: true,
      providers: [
        { provide: AUTH_OPTIONS, useValue: options },
        { provide: CallerAuthenticator, inject: [HttpService], useFactory: (http: HttpService) => createAuthenticator(options, http) },
        AuthEvents,
      ],
      exports: [AuthEvents, AUTH_OPTIONS, CallerAuthenticator],
    };
  }
}

function createAuthenticator(options: AuthOptions, http: HttpService): CallerAuthenticator {
  if (options.developmentKey) {
    new Logger('Auth').warn(
      `No caller authentication is configured: the development key "${DEVELOPMENT_API_KEY}" (X-Api-Key) is accepted ` +
        'with every scope on every project. Configure JWT or API keys before exposing this service.',
    );
  }
  const jwt = options.jwt ? JwtAuthenticator.fromOptions(options.jwt, http) : undefined;
  return new CallerAuthenticator(jwt, new ApiKeyAuthenticator(options.apiKeys, options.developmentKey));
}
