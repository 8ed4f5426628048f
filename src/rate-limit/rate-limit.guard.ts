import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthEvents } from '../auth/auth-events';
import { deny } from '../auth/auth-denial';
import { rateLimited } from '../auth/auth.errors';
import type { Caller } from '../auth/caller';
import { RateLimiter } from './rate-limiter.service';

/**
 * Second of the request guards, after authentication: a request with valid credentials is charged to its
 * caller, one without to its source IP — and refused with its authentication failure only within that
 * budget (429 beyond it), so nobody floods the service (or its audit) anonymously. Public routes, which the
 * authentication guard leaves without caller or denial, pass uncounted.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly events: AuthEvents,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const { caller, authDenial } = request;
    if (authDenial) {
      const budget = await this.limiter.chargeAnonymous(request.ip);
      throw deny(request, budget.allowed ? authDenial : rateLimited('rate_limited_ip', budget.retryAfterSec), this.events);
    }
    if (!caller) return true;
    const budget = await this.limiter.charge('caller', trackerOf(caller));
    if (!budget.allowed) throw deny(request, rateLimited('rate_limited_caller', budget.retryAfterSec), this.events);
    return true;
  }
}

/** Rate-limit identity: the key name, or the JWT subject together with the client it uses. */
function trackerOf(caller: Caller): string {
  return [caller.kind, caller.subject, caller.clientId ?? ''].join(':');
}
