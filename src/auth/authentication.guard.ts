import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AuthDeniedError } from './auth.errors';
import { AUTH_SCOPE } from './authenticated.decorator';
import type { Scope } from './caller';
import { CallerAuthenticator } from './caller.authenticator';

/**
 * First of the request guards (src/request-guards.ts): who is calling. On an `@Authenticated` route it sets
 * `request.caller`, or — for credentials that do not hold — `request.authDenial`, which the rate-limit guard
 * charges to the source IP before refusing it. It never refuses by itself, so that no failed
 * authentication escapes the per-IP budget. Public routes pass untouched.
 */
@Injectable()
export class AuthenticationGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: CallerAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!requiredScope(this.reflector, context)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    try {
      request.caller = await this.authenticator.authenticate(request);
    } catch (error) {
      if (!(error instanceof AuthDeniedError)) throw error;
      request.authDenial = error;
    }
    return true;
  }
}

/** The scope an `@Authenticated` route requires; undefined for public routes. */
export function requiredScope(reflector: Reflector, context: ExecutionContext): Scope | undefined {
  return reflector.getAllAndOverride<Scope | undefined>(AUTH_SCOPE, [context.getHandler(), context.getClass()]);
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication guard when the credentials do not hold; thrown by the rate-limit guard. */
    authDenial?: AuthDeniedError;
  }
}
