import type { Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthenticationGuard } from './auth/authentication.guard';
import { AuthorizationGuard } from './auth/authorization.guard';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';

/**
 * The global guards of every request, in the order they run: who is calling, their budget, what they may
 * do. Charging the budget before authorising means that even refused attempts (which are audited) are
 * limited. The one place that fixes the order; the app and the auth test app both use it.
 */
export const REQUEST_GUARDS: Provider[] = [
  { provide: APP_GUARD, useClass: AuthenticationGuard },
  { provide: APP_GUARD, useClass: RateLimitGuard },
  { provide: APP_GUARD, useClass: AuthorizationGuard },
];
