import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { AuditService } from '../audit/audit.service';
import { RateLimiter } from '../rate-limit/rate-limiter.service';
import { outcomeOfStatus } from './audit-outcome';
import { ChangeAttempt } from './change-attempt';

const AUDITED_ROUTE = '/v2/:project_id/notifications/sms/callback';

/**
 * Records PUT attempts refused before the handler ran — bad credentials, missing scope, invalid or
 * unparsable bodies — so that every attempt has exactly one record. Rate-limited requests (429) are not
 * recorded: the limit exists so that nobody can flood the store. Requests refused while their body was read
 * (413, 415, malformed JSON) never met the guard, so they are charged to their source IP's budget here, and
 * recorded only within it.
 */
@Injectable()
export class RefusedAttemptsAudit implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly audit: AuditService,
    private readonly limiter: RateLimiter,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // onSend, not onResponse: the record is stored before the caller gets the answer.
    fastify.addHook('onSend', async (request, reply, payload) => {
      if (request.method !== 'PUT' || request.routeOptions.url !== AUDITED_ROUTE) return payload;
      const attempt = ChangeAttempt.of(request, reply);
      if (attempt.recorded || reply.statusCode === 429) return payload;
      attempt.recorded = true;
      const guardRan = request.caller !== undefined || request.authFailure !== undefined;
      if (!guardRan && !(await this.limiter.chargeAnonymous(request.ip)).allowed) return payload;
      await this.audit.record(attempt.audit, {
        outcome: outcomeOfStatus(reply.statusCode),
        httpStatus: reply.statusCode,
        errorCode: request.errorCode,
      });
      return payload;
    });
  }
}
