import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The service's Prometheus metrics, on a registry of its own (not prom-client's global one), so several app
 * instances in one process (tests) never collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests served, by route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly upstreamDuration = new Histogram({
    name: 'smn_request_duration_seconds',
    help: 'Duration of SMN operations including retries, by operation and outcome (ok or the error code).',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'auth_failures_total',
    help: 'Refused callers, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly upstreamRetries = new Counter({
    name: 'upstream_retries_total',
    help: 'Retried upstream attempts, by service (SMN, IAM), operation and the failure that caused the retry.',
    labelNames: ['service', 'operation', 'reason'] as const,
    registers: [this.registry],
  });

  readonly rateLimitRejections = new Counter({
    name: 'rate_limit_rejections_total',
    help: 'Requests refused with 429, by budget: caller (authenticated) or ip (failed authentication).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly auditWriteDuration = new Histogram({
    name: 'audit_write_duration_seconds',
    help: 'Duration of audit store writes, by operation.',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly auditWriteFailures = new Counter({
    name: 'audit_write_failures_total',
    help: 'Audit store writes that failed, by operation.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Times `work` into `histogram` with `labels` plus an outcome label derived from its result. */
  async time<T>(histogram: Histogram<string>, labels: Record<string, string>, work: () => Promise<T>): Promise<T> {
    const end = histogram.startTimer(labels);
    try {
      const result = await work();
      end({ outcome: 'ok' });
      return result;
    } catch (error) {
      end({ outcome: (error as { code?: string }).code ?? 'error' });
      throw error;
    }
  }
}
