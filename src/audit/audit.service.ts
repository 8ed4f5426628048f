import { Inject, Injectable, OnApplicationShutdown, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { type Span, SpanKind } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { APP_LOGGER } from '../common/logging.module';
import { BffError } from '../common/bff-error';
import { TraceAttribute, Tracing } from '../tracing/tracing';
import { AuditCheckpointPublisher } from './audit-checkpoint';
import { auditUnavailable, within } from './audit-errors';
import { AuditOptions } from './audit-options';
import { AuditSigningKey } from './audit-signing-key';
import { AuditStore } from './audit.store';
import { AuditIntent, AuditPage, AuditQuery, AuditRecord, NewAuditRecord } from './audit.types';
import { AuditChainVerification, verifyAuditChain } from './verify-audit-chain';

/** Records that could not be stored yet, kept for another try; past this many the oldest is only logged. */
const MAX_DEFERRED = 10_000;

interface Deferred {
  intentId: string | null;
  record: NewAuditRecord;
}

/**
 * The audit store as the rest of the service uses it: write-ahead intents (fail closed), final records
 * that are never lost while the process lives, this instance's lease, and the sweeper that turns intents
 * nobody alive can finish into `unknown` records. Which record an attempt gets is decided by the change
 * attempt lifecycle (change-attempt.lifecycle.ts); this class only stores.
 *
 * Callers pass identities, never secrets: no tokens, API keys, cookies or upstream signatures.
 *
 * With tracing on, each store transaction a request waits for is an INTERNAL span, a child of the active one
 * (the request's): `audit.lock` (the project lock, queue included), `audit.intent` and `audit.finalize` (the
 * chain append). The background sweep is not traced; a deferred record it stores is a root span of its own.
 */
@Injectable()
export class AuditService implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger: Logger;
  private sweepTimer?: NodeJS.Timeout;
  private leaseTimer?: NodeJS.Timeout;
  private sweeping?: Promise<AuditRecord[]>;
  private sweepFailing = false;
  private readonly deferred: Deferred[] = [];
  /** Finalisations under way; shutdown waits for them before closing the store. */
  private readonly inFlight = new Set<Promise<unknown>>();
  constructor(
    private readonly store: AuditStore,
    private readonly signingKey: AuditSigningKey,
    private readonly options: AuditOptions,
    private readonly checkpoints: AuditCheckpointPublisher,
    @Inject(APP_LOGGER) logger: Logger,
    @Optional() private readonly tracing: Tracing = Tracing.DISABLED,
  ) {
    this.logger = logger.child({ component: 'audit' });
  }

  /**
   * Commits the write-ahead intent within `timeoutMs`. Call before forwarding a change; if it throws
   * (503 `BFF.AUDIT_UNAVAILABLE`), the change must not be forwarded.
   */
  async begin(intent: Omit<AuditIntent, 'instance_id'>, timeoutMs: number): Promise<void> {
    try {
      const write = () => this.store.writeIntent({ ...intent, instance_id: this.options.instanceId });
      await within(this.tracing.enabled ? this.traced('audit.intent', intent.project_id, write) : write(), timeoutMs, 'intent');
    } catch (error) {
      this.logger.error(
        { err: error, request_id: intent.request_id, project_id: intent.project_id },
        'audit intent could not be written; the change is not forwarded',
      );
      throw auditUnavailable(error);
    }
  }

  /**
   * Stores a final record: of a begun attempt (`intentId`), or on its own (refused attempts). Never throws:
   * the upstream may already have applied the change, so the caller's answer must not depend on this. A
   * record that cannot be stored within `timeoutMs` is kept and tried again with every sweep (storing is
   * idempotent by record id), and logged in full meanwhile.
   */
  async finalize(intentId: string | null, record: NewAuditRecord, timeoutMs = this.options.statementTimeoutMs): Promise<void> {
    try {
      await within(this.store_(intentId, record), timeoutMs, 'final record');
    } catch (error) {
      this.defer({ intentId, record }, error);
    }
  }

  /** Takes the project's lock, waiting at most `waitMs`; store faults are 503 `BFF.AUDIT_UNAVAILABLE`. */
  async lockProject(projectId: string, waitMs: number) {
    try {
      return await (this.tracing.enabled
        ? this.traced('audit.lock', projectId, () => this.store.lockProject(projectId, waitMs))
        : this.store.lockProject(projectId, waitMs));
    } catch (error) {
      if (error instanceof BffError) throw error; // ProjectBusyError
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

  /** Stores deferred records, then finalises intents nobody alive can finish. Concurrent calls share one run. */
  sweepStaleIntents(): Promise<AuditRecord[]> {
    this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  async onModuleInit(): Promise<void> {
    // The lease first: an intent of an instance without a lease is anybody's to sweep.
    await this.store.renewLease(this.options.instanceId, this.options.leaseTtlMs);
    this.leaseTimer = setInterval(() => void this.renewLease(), Math.max(100, Math.floor(this.options.leaseTtlMs / 3)));
    this.leaseTimer.unref();
    // At start (intents left by instances that died) and then periodically.
    void this.sweepStaleIntents();
    this.sweepTimer = setInterval(() => void this.sweepStaleIntents(), this.options.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /** Stops the timers, letting a sweep under way finish. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearInterval(this.leaseTimer);
    this.sweepTimer = this.leaseTimer = undefined;
    await this.sweeping;
  }

  /** After the HTTP server has drained: finish pending records, give the lease up, then close the store. */
  async onApplicationShutdown(): Promise<void> {
    await this.onModuleDestroy();
    // Bounded: a write stalled on a dead connection must not hold the shutdown.
    await within(Promise.allSettled([...this.inFlight]), this.options.statementTimeoutMs, 'pending records').catch(() => undefined);
    await this.storeDeferred();
    for (const { record } of this.deferred.splice(0)) {
      this.logger.error({ audit: record }, 'AUDIT RECORD NOT STORED: the store was unreachable until shutdown; this log line is the only trace');
    }
    await this.store.dropLease(this.options.instanceId).catch(() => undefined);
    await this.store.close();
  }

  private async renewLease(): Promise<void> {
    try {
      await within(this.store.renewLease(this.options.instanceId, this.options.leaseTtlMs), this.options.statementTimeoutMs, 'lease');
    } catch (error) {
      this.logger.warn({ err: error }, 'audit lease could not be renewed; retrying');
    }
  }

  private async sweep(): Promise<AuditRecord[]> {
    await this.storeDeferred();
    try {
      const records = await this.store.finalizeStaleIntents({ olderThanMs: this.options.staleAfterMs }, this.signingKey);
      if (this.sweepFailing) this.logger.info('stale audit intents can be finalised again');
      this.sweepFailing = false;
      for (const record of records) {
        this.logger.warn({ audit: record }, 'audit intent finalised as unknown: no live instance can finish its request');
        this.notify(record);
      }
      return records;
    } catch (error) {
      // Once per outage, not once per sweep.
      if (!this.sweepFailing) this.logger.error({ err: error }, 'stale audit intents could not be finalised; retrying with every sweep');
      this.sweepFailing = true;
      return [];
    }
  }

  private async storeDeferred(): Promise<void> {
    while (this.deferred.length) {
      const next = this.deferred[0];
      try {
        await within(this.store_(next.intentId, next.record), this.options.statementTimeoutMs, 'deferred record');
      } catch {
        return; // still unreachable: the next sweep tries again
      }
      this.deferred.shift();
    }
  }

  private async store_(intentId: string | null, record: NewAuditRecord): Promise<void> {
    const append = () => this.store.finalize(intentId, record, this.signingKey);
    const stored = await this.track(
      this.tracing.enabled
        ? this.traced('audit.finalize', record.project_id, async (span) => {
            const appended = await append();
            span?.setAttributes({ [TraceAttribute.AuditOutcome]: appended.outcome, [TraceAttribute.AuditSeq]: appended.seq });
            return appended;
          })
        : append(),
    );
    this.logger.info({ audit: stored }, 'audit record');
    this.notify(stored);
  }

  private defer(entry: Deferred, error: unknown): void {
    this.deferred.push(entry);
    if (this.deferred.length > MAX_DEFERRED) {
      const dropped = this.deferred.shift()!;
      this.logger.error({ audit: dropped.record }, 'AUDIT RECORD NOT STORED: too many records wait for the store; this log line is the only trace');
    }
    this.logger.error(
      { err: error, audit: entry.record, intent_id: entry.intentId },
      'audit record not stored yet: kept in memory and retried with every sweep',
    );
  }

  /** Every stored record counts towards the next signed checkpoint. */
  private notify(record: AuditRecord): void {
    this.checkpoints.noteAppended(record);
  }

  private traced<T>(name: string, projectId: string, fn: (span?: Span) => Promise<T>): Promise<T> {
    return this.tracing.inSpan(name, SpanKind.INTERNAL, { [TraceAttribute.ProjectId]: projectId }, fn);
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    const forget = () => this.inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}
