import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { RateLimiter } from '../rate-limit/rate-limiter.service';
import { AuthEvents } from './auth-events.service';
import { AuthDeniedError, forbidden, rateLimited } from './auth.errors';
import { AUTH_SCOPE } from './authenticated.decorator';
import { canAccessProject, type Caller, type Scope } from './caller';
import { CallerAuthenticator } from './caller-authenticator.service';

/**
 * The one global guard of `@Authenticated` routes: authenticate → rate limit → authorize.
 * A failed authentication is charged to the source IP (429 instead of 401 once that budget is spent),
 * a successful one to the caller. Public routes pass untouched and uncounted.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: CallerAuthenticator,
    private readonly limiter: RateLimiter,
    private readonly events: AuthEvents,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scope = this.reflector.getAllAndOverride<Scope | undefined>(AUTH_SCOPE, [context.getHandler(), context.getClass()]);
    if (!scope) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    try {
      const caller = await this.authenticate(request);
      // Set before the remaining checks so that the audit of a denied attempt can name the actor.
      request.caller = caller;
      const budget = await this.limiter.charge('caller', trackerOf(caller));
      if (!budget.allowed) throw rateLimited('rate_limited_caller', budget.retryAfterSec);
      authorize(caller, scope, request.params);
      return true;
    } catch (error) {
      if (error instanceof AuthDeniedError) this.record(request, error);
      throw error;
    }
  }

  private async authenticate(request: FastifyRequest): Promise<Caller> {
    try {
      return await this.authenticator.authenticate(request);
    } catch (error) {
      if (!(error instanceof AuthDeniedError)) throw error;
      // Requests without valid credentials are limited per source IP, so nobody floods us anonymously.
      const budget = await this.limiter.chargeAnonymous(request.ip);
      throw budget.allowed ? error : rateLimited('rate_limited_ip', budget.retryAfterSec);
    }
  }

  private record(request: FastifyRequest, error: AuthDeniedError): void {
    request.authFailure = error.toFailure();
    this.events.emitFailure({ ...request.authFailure, method: request.method, route: request.routeOptions.url });
  }
}

/** Rate-limit identity: the key name, or the JWT subject together with the client it uses. */
function trackerOf(caller: Caller): string {
  return [caller.kind, caller.subject, caller.clientId ?? ''].join(':');
}

function authorize(caller: Caller, scope: Scope, params: unknown): void {
  if (!caller.scopes.has(scope)) throw forbidden('missing_scope', `The caller lacks the scope "${scope}".`);
  const projectId = (params as Record<string, unknown> | undefined)?.project_id;
  if (typeof projectId === 'string' && !canAccessProject(caller, projectId)) {
    throw forbidden('project_denied', 'The caller has no access to this project.');
  }
}
