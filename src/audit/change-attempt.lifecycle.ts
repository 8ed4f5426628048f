import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BffError } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';
import { toErrorReply } from '../common/error-envelope';
import { RateLimiter } from '../rate-limit/rate-limiter.service';
import { withRequestSpan } from '../tracing/request-spans';
import { outcomeOf } from './attempt-outcome';
import { toJsonValue } from './audit-chain';
import { auditUnavailable } from './audit-errors';
import { AuditOptions } from './audit-options';
import { AuditService } from './audit.service';
import type { AuditAttemptColumns, AuditOutcomeDetails, NewAuditRecord } from './audit.types';
import { attemptOf, ChangeAttempt, isAuditedChange, openAttempt } from './change-attempt';
import type { ProjectLock } from './project-locks';

/** One change as the feature describes it to the lifecycle: the business steps, in order. */
export interface Change<Before, Result> {
  /** Reads the configuration before the change (under the lock), within `signal`. */
  readBefore(signal: AbortSignal): Promise<Before>;
  /** The configuration before, as the record keeps it. */
  recordedBefore(before: Before): unknown;
  /** Throws when the change must not go ahead (e.g. a failed `If-Match`). */
  check(before: Before): void;
  /** Sends the change upstream, within `signal`. */
  forward(signal: AbortSignal): Promise<Result>;
  /** The upstream's request id of a successful change. */
  upstreamRequestId(result: Result): string;
}

/**
 * The one owner of a change attempt's lifecycle. It opens the attempt when a request to an
 * `@AuditedChange()` route arrives, runs the change (lock → read-before → precondition → intent →
 * upstream → final record) within one total deadline, and gives every attempt that receives an answer
 * exactly one record: the pipeline writes the final record of attempts that committed an intent, and the
 * `onSend` hook writes the record of every attempt refused before that — by the body parser, the guards,
 * the validation pipe or the pipeline itself.
 */
@Injectable()
export class ChangeAttemptLifecycle implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly audit: AuditService,
    private readonly limiter: RateLimiter,
    private readonly options: AuditOptions,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, _reply, done) => {
      if (request.method === 'PUT' && isAuditedChange(request)) {
        const projectId = (request.params as { project_id?: string } | undefined)?.project_id ?? '';
        openAttempt(request, new ChangeAttempt(request.id, projectId, request.ip, header(request, 'user-agent'), this.options.changeDeadlineMs));
      }
      done();
    });
    fastify.addHook('preHandler', (request, _reply, done) => {
      const attempt = attemptOf(request);
      if (attempt) {
        attempt.reachedHandler = true;
        attempt.requested = request.body ?? null;
      }
      done();
    });
    // onSend, not onResponse: the record is stored before the caller gets the answer.
    fastify.addHook('onSend', async (request, reply, payload) => {
      const attempt = attemptOf(request);
      if (attempt && !attempt.recorded) await this.recordRefusal(request, reply, attempt);
      return payload;
    });
  }

  /**
   * Runs one change under its project's lock within the attempt's deadline. Lock waits queue in the
   * process and end in 503 `BFF.PROJECT_BUSY`; a store fault before forwarding is 503
   * `BFF.AUDIT_UNAVAILABLE` and nothing is forwarded.
   */
  async run<Before, Result>(attempt: ChangeAttempt, change: Change<Before, Result>): Promise<{ before: Before; result: Result }> {
    // The final record's share of the deadline is kept back from every step before it.
    const reserveMs = Math.min(this.options.statementTimeoutMs, this.options.changeDeadlineMs / 4);
    const budget = () => attempt.remainingMs() - reserveMs;
    let lock: ProjectLock | undefined;
    // The upstream steps share one end (the deadline less the reserve), so one signal and one timer serve
    // both, cleared when the change ends (AbortSignal.timeout's timers would live on for the whole deadline).
    let upstreamTimer: NodeJS.Timeout | undefined;
    try {
      lock = await this.audit.lockProject(attempt.projectId, Math.min(this.options.lockWaitMs, budget()));
      const upstream = new AbortController();
      upstreamTimer = setTimeout(() => upstream.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), Math.max(1, budget()));
      const before = await change.readBefore(upstream.signal);
      attempt.before = change.recordedBefore(before);
      change.check(before);
      assertHeld(lock);
      await this.audit.begin(this.intentOf(attempt), Math.max(1, Math.min(this.options.statementTimeoutMs, budget())));
      attempt.intentCommitted = true;
      assertHeld(lock);
      attempt.forwarded = true;
      const result = await change.forward(upstream.signal);
      // Without the lock, another change may have interleaved: what this one did is not known for sure.
      if (lock.lost.aborted) throw lockLostAfterForwarding(lock.lost.reason);
      await this.finish(attempt, { ...outcomeOf(200, undefined, true), upstreamStatus: 200, upstreamRequestId: change.upstreamRequestId(result) });
      return { before, result };
    } catch (error) {
      attempt.failure = error;
      if (attempt.intentCommitted) {
        // What the caller will receive, as the filter will answer it, also for errors that are not ours.
        const reply = toErrorReply(error, attempt.requestId);
        await this.finish(attempt, { ...outcomeOf(reply.status, error, attempt.forwarded), errorCode: reply.body.code });
      }
      throw error;
    } finally {
      clearTimeout(upstreamTimer);
      // Not awaited: the answer need not wait for the unlock round trip. The lock stays held until it lands,
      // so the next change of the project, here or on another instance, still starts after it.
      void lock?.release();
    }
  }

  /** The final record of an attempt with a committed intent. */
  private async finish(attempt: ChangeAttempt, outcome: AuditOutcomeDetails): Promise<void> {
    attempt.recorded = true;
    await this.audit.finalize(attempt.id, this.recordOf(attempt, outcome), Math.max(MIN_WRITE_MS, attempt.remainingMs()));
  }

  /**
   * Attempts refused before an intent. Rate-limited requests (429) are not recorded: the limit exists so
   * that nobody can flood the store. Requests refused while their body was read (413, 415, malformed or too
   * deep JSON) never met the guard, so they are charged to their source IP's budget here, and recorded
   * only within it.
   */
  private async recordRefusal(request: FastifyRequest, reply: FastifyReply, attempt: ChangeAttempt): Promise<void> {
    attempt.recorded = true;
    if (reply.statusCode === 429) return;
    if (!attempt.reachedHandler && !(await this.limiter.chargeAnonymous(request.ip)).allowed) return;
    attempt.identify(request.caller);
    const outcome = outcomeOf(reply.statusCode, attempt.failure, false);
    // Within what is left of the deadline: a store that does not answer keeps the record for a later sweep.
    const timeoutMs = Math.max(MIN_WRITE_MS, Math.min(this.options.statementTimeoutMs, attempt.remainingMs()));
    const record = this.recordOf(attempt, { ...outcome, errorCode: outcome.errorCode ?? request.errorCode });
    // In the request's span: a refusal by the body parser reaches this hook outside any async context.
    await withRequestSpan(request, () => this.audit.finalize(null, record, timeoutMs));
  }

  /** The attempt's columns, computed once the intent is written: its final record repeats them. */
  private intentOf(attempt: ChangeAttempt): AuditAttemptColumns {
    if (attempt.intentCommitted && attempt.columns) return attempt.columns;
    return (attempt.columns = {
      id: attempt.id,
      request_id: attempt.requestId,
      started_at: attempt.startedAt.toISOString(),
      actor_kind: attempt.actor.kind,
      actor_subject: attempt.actor.subject ?? null,
      actor_client_id: attempt.actor.clientId ?? null,
      source_ip: attempt.sourceIp,
      user_agent: attempt.userAgent ?? null,
      project_id: attempt.projectId,
      requested: toJsonValue(attempt.requested),
      before: attempt.before === undefined ? null : toJsonValue(attempt.before),
    });
  }

  private recordOf(attempt: ChangeAttempt, outcome: AuditOutcomeDetails): NewAuditRecord {
    return {
      ...this.intentOf(attempt),
      outcome: outcome.outcome,
      http_status: outcome.httpStatus,
      error_code: outcome.errorCode ?? null,
      upstream_status: outcome.upstreamStatus ?? null,
      upstream_request_id: outcome.upstreamRequestId ?? null,
      duration_ms: Math.max(0, Date.now() - attempt.startedAt.getTime()),
      amends: null,
    };
  }
}

/** The least time a record gets to be stored before it is kept for a later sweep instead. */
const MIN_WRITE_MS = 50;

/** Before anything is forwarded, a lost lock fails the attempt closed. */
function assertHeld(lock: ProjectLock): void {
  if (lock.lost.aborted)
    throw auditUnavailable(lock.lost.reason, 'The audit store connection holding the project lock was lost; the change was not forwarded.');
}

function lockLostAfterForwarding(cause: unknown): BffError {
  return new BffError(
    503,
    ErrorCode.AuditUnavailable,
    'The audit store connection holding the project lock was lost while the change was forwarded; whether it applied is unknown. GET the configuration to see.',
    { cause, outcomeUnknown: true },
  );
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}
