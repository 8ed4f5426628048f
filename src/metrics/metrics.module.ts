import { Global, Inject, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { ThrottlerStorage } from '@nestjs/throttler';
import { Gauge } from 'prom-client';
import { AuditCheckpointStatus } from '../audit/audit-checkpoint-status';
import { AuditStore } from '../audit/audit.store';
import { AuthEvents } from '../auth/auth-events';
import { RedisThrottlerStorage } from '../rate-limit/redis-throttler.store';
import { IAM_RESILIENCE, UpstreamResilience } from '../smn/upstream-resilience';
import { MetricsServer } from './metrics.server';
import { MetricsService } from './metrics.service';

const CIRCUIT_STATES = { closed: 0, 'half-open': 1, open: 2, isolated: 3 } as const;

/** Collects the metrics and serves them on their own port (`MetricsServer`), never through the public API. */
@Global()
@Module({
  providers: [MetricsService, MetricsServer],
  exports: [MetricsService, MetricsServer],
})
export class MetricsModule implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly adapterHost: HttpAdapterHost,
    private readonly authEvents: AuthEvents,
    private readonly resilience: UpstreamResilience,
    @Inject(IAM_RESILIENCE) private readonly iamResilience: UpstreamResilience,
    @Inject(ThrottlerStorage) private readonly throttlerStorage: ThrottlerStorage,
    private readonly auditStore: AuditStore,
    private readonly checkpoints: AuditCheckpointStatus,
  ) {}

  onModuleInit(): void {
    registerCircuitGauge(this.metrics, this.resilience);
    registerRedisGauge(this.metrics, this.throttlerStorage);
    registerIntentGauges(this.metrics, this.auditStore);
    registerCheckpointGauges(this.metrics, this.checkpoints);
    // One counter for both upstreams: SMN's retries and IAM's token fetches (service="SMN" / "IAM").
    for (const resilience of [this.resilience, this.iamResilience]) resilience.onRetry((event) => this.metrics.upstreamRetries.inc({ ...event }));
    this.authEvents.onFailure((event) => {
      this.metrics.authFailures.inc({ reason: event.reason });
      if (event.reason === 'rate_limited_caller') this.metrics.rateLimitRejections.inc({ kind: 'caller' });
      if (event.reason === 'rate_limited_ip') this.metrics.rateLimitRejections.inc({ kind: 'ip' });
    });
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      // The route template, not the URL, so project ids do not explode the label set.
      const route = request.routeOptions.url ?? 'unmatched';
      this.metrics.httpRequestDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
      done();
    });
  }
}

/** Circuit state per regional endpoint, read at scrape time (0 closed, 1 half-open, 2 open). */
function registerCircuitGauge(metrics: MetricsService, resilience: UpstreamResilience): void {
  new Gauge({
    name: 'smn_circuit_state',
    help: 'Circuit breaker state per SMN endpoint: 0 closed, 1 half-open, 2 open, 3 isolated.',
    labelNames: ['endpoint'] as const,
    registers: [metrics.registry],
    collect() {
      for (const { endpoint, state } of resilience.circuitStates()) this.set({ endpoint }, CIRCUIT_STATES[state]);
    },
  });
}

/**
 * 1 while Redis is away and rate limits count per instance (so the effective limit is instances × limit),
 * 0 while counters are shared; absent without Redis. Read at scrape time.
 */
function registerRedisGauge(metrics: MetricsService, storage: ThrottlerStorage): void {
  if (!(storage instanceof RedisThrottlerStorage)) return;
  new Gauge({
    name: 'rate_limit_redis_degraded',
    help: '1 while Redis does not answer and rate limits are counted per instance, else 0.',
    registers: [metrics.registry],
    collect() {
      this.set(storage.degraded ? 1 : 0);
    },
  });
}

/**
 * Intents not yet finalised and the oldest one's age, read from the store at scrape time. A backlog that
 * grows, or an age past the change deadline, means final records are not being written (the audit lags).
 * A store that does not answer leaves the gauges out of that scrape rather than failing it.
 */
function registerIntentGauges(metrics: MetricsService, store: AuditStore): void {
  const read = () => store.intentBacklog().catch(() => undefined);
  new Gauge({
    name: 'audit_pending_intents',
    help: 'Change attempts whose intent is written and whose final record is not yet (in flight, or left by a crash).',
    registers: [metrics.registry],
    async collect() {
      const value = await read();
      if (value) this.set(value.pending);
    },
  });
  new Gauge({
    name: 'audit_oldest_intent_age_seconds',
    help: 'Age of the oldest pending intent by the store clock; 0 when none.',
    registers: [metrics.registry],
    async collect() {
      const value = await read();
      if (value) this.set((value.oldestAgeMs ?? 0) / 1000);
    },
  });
}

/**
 * The last checkpoint this instance published, read at scrape time. Before its first, the age counts from
 * this instance's start and the seq is 0. An age that keeps growing past the checkpoint interval while records
 * are appended means signed checkpoints no longer leave with the logs (with no new record there is nothing to
 * checkpoint, and the age grows legitimately).
 */
function registerCheckpointGauges(metrics: MetricsService, checkpoints: AuditCheckpointStatus): void {
  const startedAtMs = Date.now();
  new Gauge({
    name: 'audit_checkpoint_age_seconds',
    help: "Seconds since this instance published its last signed audit checkpoint (before its first: since the instance's start).",
    registers: [metrics.registry],
    collect() {
      const since = checkpoints.lastPublished()?.publishedAtMs ?? startedAtMs;
      this.set(Math.max(0, Date.now() - since) / 1000);
    },
  });
  new Gauge({
    name: 'audit_checkpoint_seq',
    help: 'Chain length (seq) covered by the last signed audit checkpoint this instance published; 0 before its first.',
    registers: [metrics.registry],
    collect() {
      this.set(checkpoints.lastPublished()?.seq ?? 0);
    },
  });
}
