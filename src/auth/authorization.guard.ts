import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AuthEvents } from './auth-events';
import { deny } from './auth-denial';
import { forbidden } from './auth.errors';
import { requiredScope } from './authentication.guard';
import { canAccessProject } from './caller';

/** Last of the request guards: the authenticated caller needs the route's scope and its `project_id`. */
@Injectable()
export class AuthorizationGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly events: AuthEvents,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const scope = requiredScope(this.reflector, context);
    if (!scope) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const caller = request.caller;
    // The earlier guards refuse every request without a caller; this only guards against miswiring.
    if (!caller) throw new Error('AuthorizationGuard ran before authentication');
    if (!caller.scopes.has(scope)) throw deny(request, forbidden('missing_scope', `The caller lacks the scope "${scope}".`), this.events);
    const projectId = (request.params as Record<string, unknown> | undefined)?.project_id;
    if (typeof projectId === 'string' && !canAccessProject(caller, projectId)) {
      throw deny(request, forbidden('project_denied', 'The caller has no access to this project.'), this.events);
    }
    return true;
  }
}
