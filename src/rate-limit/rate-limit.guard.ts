import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthEvents } from '../auth/auth-events';
import { deny } from '../auth/auth-denial';
import { rateLimited } from '../auth/auth.errors';
import type { Caller } from '../auth/caller';
import { RateLimitDecision, RateLimiter } from './rate-limiter.service';

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
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const { caller, authDenial } = request;
    if (authDenial) {
      const budget = announce(reply, await this.limiter.chargeAnonymous(request.ip));
      throw deny(request, budget.allowed ? authDenial : rateLimited('rate_limited_ip', budget.retryAfterSec), this.events);
    }
    if (!caller) return true;
    const budget = announce(reply, await this.limiter.charge('caller', trackerOf(caller)));
    if (!budget.allowed) throw deny(request, rateLimited('rate_limited_caller', budget.retryAfterSec), this.events);
    return true;
  }
}

/**
 * The budget a request was charged to, as the IETF draft's RateLimit-Limit / -Remaining / -Reset (seconds)
 * fields, so that a client can pace itself before it meets a 429. On every limited answer, errors included.
 */
function announce(reply: FastifyReply, budget: RateLimitDecision): RateLimitDecision {
  void reply.header('RateLimit-Limit', String(budget.limit));
  void reply.header('RateLimit-Remaining', String(budget.remaining));
  void reply.header('RateLimit-Reset', String(budget.resetSec));
  return budget;
}

/** Rate-limit identity: the key name, or the JWT subject together with the client it uses. */
function trackerOf(caller: Caller): string {
  return [caller.kind, caller.subject, caller.clientId ?? ''].join(':');
}
