import { ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditAttempt } from '../audit/audit.types';

/**
 * One PUT attempt as the audit sees it: who, from where, what. Built once per request and kept on it, so the
 * hook that audits attempts refused before the handler ran knows whether the service already recorded one.
 */
export class ChangeAttempt {
  /** Set once the attempt has its final audit record (or its write-ahead intent). */
  recorded = false;

  constructor(
    readonly audit: AuditAttempt,
    /** The caller's `If-Match`, if any. */
    readonly ifMatch?: string,
  ) {}

  static of(request: FastifyRequest, reply: FastifyReply): ChangeAttempt {
    if (!request.changeAttempt) {
      const caller = request.caller;
      const ifMatch = request.headers['if-match'];
      request.changeAttempt = new ChangeAttempt(
        {
          requestId: request.id,
          startedAt: new Date(Date.now() - reply.elapsedTime),
          // Identity only: never a token, key or cookie.
          actor: caller ? { kind: caller.kind, subject: caller.subject, clientId: caller.clientId } : { kind: 'anonymous' },
          sourceIp: request.ip,
          userAgent: request.headers['user-agent'],
          projectId: (request.params as { project_id?: string })?.project_id ?? '',
          requested: request.body ?? null,
        },
        typeof ifMatch === 'string' ? ifMatch : undefined,
      );
    }
    return request.changeAttempt;
  }
}

/** The current request's change attempt, for the PUT handler. */
export const Attempt = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const http = context.switchToHttp();
  return ChangeAttempt.of(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
});

declare module 'fastify' {
  interface FastifyRequest {
    changeAttempt?: ChangeAttempt;
  }
}
