import { Injectable, OnApplicationShutdown, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import pino, { Logger } from 'pino';
import { BffError } from '../common/bff-error';
import { ErrorCode } from '../common/error-codes';
import { toJsonValue } from './audit-chain';
import { AuditOptions } from './audit-options';
import { AuditSigningKey } from './audit-signing-key';
import { AuditStore } from './audit.store';
import { AuditAttempt, AuditAttemptColumns, AuditOutcomeDetails, AuditPage, AuditQuery, AuditRecord, AuditTicket, NewAuditRecord } from './audit.types';
import { AuditChainVerification, verifyAuditChain } from './verify-audit-chain';

/**
 * The audit API of the feature (design §6): write-ahead and fail-closed for changes, one final
 * chained record per attempt, and a sweeper that turns intents left by a crash into `unknown`.
 *
 * Callers pass identities, never secrets: no tokens, API keys, cookies or upstream signatures.
 */
@Injectable()
export class AuditService implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger: Logger;
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<AuditRecord[]>;
  /** Finalisations under way; shutdown waits for them before closing the store. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly store: AuditStore,
    private readonly signingKey: AuditSigningKey,
    private readonly options: AuditOptions,
  ) {
    this.logger = (options.logger ?? pino()).child({ component: 'audit' });
  }

  /**
   * Commits the write-ahead intent. Call before forwarding a change; if it throws (503
   * `BFF.AUDIT_UNAVAILABLE`), the change must not be forwarded.
   */
  async begin(attempt: AuditAttempt): Promise<AuditTicket> {
    const intentId = randomUUID();
    try {
      await this.track(this.store.writeIntent({ ...attemptColumns(intentId, attempt), instance_id: this.options.instanceId }));
    } catch (error) {
      this.logger.error({ err: error, request_id: attempt.requestId, project_id: attempt.projectId }, 'audit intent could not be written; the change is not forwarded');
      throw auditUnavailable(error);
    }
    return { intentId, attempt };
  }

  /**
   * Writes the final record of a begun attempt. Never throws: the upstream may already have
   * applied the change, so the caller's answer must not depend on this. On failure the record is
   * logged in full and the intent stays for the sweeper, which records it as `unknown`.
   */
  async complete(ticket: AuditTicket, outcome: AuditOutcomeDetails): Promise<void> {
    await this.finalize(ticket.intentId, () => newRecord(ticket.intentId, ticket.attempt, outcome));
  }

  /** One final record without an intent: denied, invalid and unauthenticated attempts. Never throws. */
  async record(attempt: AuditAttempt, outcome: AuditOutcomeDetails): Promise<void> {
    await this.finalize(null, () => newRecord(randomUUID(), attempt, outcome));
  }

  /**
   * Runs `fn` under the per-project lock (across instances on PostgreSQL). Failing to take the
   * lock is a 503 `BFF.AUDIT_UNAVAILABLE`; errors of `fn` pass through unchanged.
   */
  async withProjectLock<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    let entered = false;
    try {
      return await this.store.withProjectLock(projectId, () => {
        entered = true;
        return fn();
      });
    } catch (error) {
      if (entered) throw error;
      this.logger.error({ err: error, project_id: projectId }, 'project lock could not be taken');
      throw auditUnavailable(error);
    }
  }

  query(query: AuditQuery): Promise<AuditPage> {
    return this.store.query(query);
  }

  /** Recomputes the chain and checks every signature with this instance's public key. */
  verifyChain(): Promise<AuditChainVerification> {
    return verifyAuditChain(this.store, this.signingKey.publicKey);
  }

  /** Readiness: throws when the store cannot answer. */
  ping(): Promise<void> {
    return this.store.ping();
  }

  /** Finalises intents older than `staleAfterMs` as `unknown`. Concurrent calls share one run. */
  sweepStaleIntents(): Promise<AuditRecord[]> {
    this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  onModuleInit(): void {
    // At start (intents left by this instance's previous life) and then periodically.
    void this.sweepStaleIntents();
    this.sweepTimer = setInterval(() => void this.sweepStaleIntents(), this.options.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /** Stops the sweeper, letting a sweep under way finish. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    await this.sweeping;
  }

  /** After the HTTP server has drained: finish pending records, then close the store. */
  async onApplicationShutdown(): Promise<void> {
    await this.onModuleDestroy();
    await Promise.allSettled([...this.inFlight]);
    await this.store.close();
  }

  private async sweep(): Promise<AuditRecord[]> {
    try {
      const records = await this.store.finalizeStaleIntents(new Date(Date.now() - this.options.staleAfterMs), this.signingKey);
      for (const record of records) this.logger.warn({ audit: record }, 'audit intent finalised as unknown: its request never completed');
      return records;
    } catch (error) {
      this.logger.error({ err: error }, 'stale audit intents could not be finalised; retrying at the next sweep');
      return [];
    }
  }

  private async finalize(intentId: string | null, build: () => NewAuditRecord): Promise<void> {
    let record: NewAuditRecord | undefined;
    try {
      record = build();
      const stored = await this.track(this.store.finalize(intentId, record, this.signingKey));
      this.logger.info({ audit: stored }, 'audit record');
    } catch (error) {
      this.logger.error(
        { err: error, audit: record, intent_id: intentId },
        intentId ? 'AUDIT RECORD NOT STORED: the intent is left for the sweeper' : 'AUDIT RECORD NOT STORED: this log line is the only trace',
      );
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    const forget = () => this.inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}

function auditUnavailable(cause: unknown): BffError {
  return new BffError(503, ErrorCode.AuditUnavailable, 'The audit store cannot take the record; the change was not forwarded.', { cause });
}

function attemptColumns(id: string, attempt: AuditAttempt): AuditAttemptColumns {
  return {
    id,
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
  };
}

function newRecord(id: string, attempt: AuditAttempt, outcome: AuditOutcomeDetails): NewAuditRecord {
  const columns = attemptColumns(id, attempt);
  return {
    ...columns,
    before: outcome.before === undefined ? columns.before : toJsonValue(outcome.before),
    outcome: outcome.outcome,
    http_status: outcome.httpStatus,
    error_code: outcome.errorCode ?? null,
    upstream_status: outcome.upstreamStatus ?? null,
    upstream_request_id: outcome.upstreamRequestId ?? null,
    duration_ms: Math.max(0, Date.now() - attempt.startedAt.getTime()),
  };
}
