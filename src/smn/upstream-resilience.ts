import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  IPolicy,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import type { UpstreamPolicyConfig } from '../config/app-config';
import { SmnCircuitOpenError, SmnThrottledError, SmnTimeoutError, isOutage, isRetryable } from './smn.errors';

/**
 * Deadline → retry → circuit breaker, composed with cockatiel, one breaker per endpoint: SMN's regional
 * endpoints in one instance, IAM in another (an IAM outage is not an SMN outage).
 * The per-attempt timeout is the HTTP client's own (it aborts the socket); the deadline bounds the
 * whole call including backoff.
 */
/** One retry: which upstream and operation, and why the attempt before it failed (the error's class). */
export interface RetryEvent {
  service: string;
  operation: string;
  reason: string;
}

/**
 * The DI token of IAM's resilience (token mode's fetches): a second instance with IAM's own breaker, so that an
 * IAM outage does not open SMN's circuit, and provided rather than built inside the authorizer so that its
 * retries reach the same observers (metrics) as SMN's.
 */
export const IAM_RESILIENCE = Symbol('IAM_RESILIENCE');

export class UpstreamResilience {
  private readonly policies = new Map<string, { policy: IPolicy; breaker: CircuitBreakerPolicy }>();
  private readonly retryListeners: Array<(event: RetryEvent) => void> = [];

  constructor(
    private readonly config: UpstreamPolicyConfig,
    /** Names the upstream in the errors' messages. */
    private readonly service = 'SMN',
  ) {}

  /** Called for every retry (metrics): attempts after the first, with the previous attempt's failure. */
  onRetry(listener: (event: RetryEvent) => void): void {
    this.retryListeners.push(listener);
  }

  /**
   * `outer` (optional) ends the call early: a share of a larger deadline that the caller keeps. `operation`
   * names the call in retry events.
   */
  async execute<T>(endpoint: string, attempt: (signal: AbortSignal) => Promise<T>, outer?: AbortSignal, operation = 'call'): Promise<T> {
    const { policy } = this.policyFor(endpoint);
    // Counted here, per call, rather than with cockatiel's onRetry, which is per endpoint and knows no operation.
    let attempts = 0;
    let lastFailure: unknown;
    const counted = (signal: AbortSignal): Promise<T> => {
      if (attempts++ > 0) this.emitRetry({ service: this.service, operation, reason: reasonOf(lastFailure) });
      return attempt(signal).catch((error: unknown) => {
        lastFailure = error;
        throw error;
      });
    };
    try {
      // A backoff that ends after the deadline must not start one more attempt (signing, maybe an IAM token).
      return await policy.execute(({ signal }) => (signal.aborted ? Promise.reject(new TaskCancelledError()) : counted(signal)), outer);
    } catch (error) {
      if (outer?.aborted) throw new SmnTimeoutError(`${this.service} did not answer within the time left to this request.`);
      if (error instanceof BrokenCircuitError) {
        throw new SmnCircuitOpenError(Math.ceil(this.config.breakerHalfOpenAfterMs / 1000), `${this.service} is failing; calls are paused for a short while.`);
      }
      if (error instanceof TaskCancelledError) {
        throw new SmnTimeoutError(`${this.service} did not answer within the ${this.config.deadlineMs} ms deadline.`);
      }
      throw error;
    }
  }

  private emitRetry(event: RetryEvent): void {
    for (const listener of this.retryListeners) listener(event);
  }

  /** Breaker state per endpoint, for readiness and metrics. */
  circuitStates(): Array<{ endpoint: string; state: 'closed' | 'open' | 'half-open' | 'isolated' }> {
    return [...this.policies].map(([endpoint, { breaker }]) => ({ endpoint, state: STATE_NAMES[breaker.state] }));
  }

  private policyFor(endpoint: string) {
    let entry = this.policies.get(endpoint);
    if (!entry) {
      const c = this.config;
      const breaker = circuitBreaker(handleWhen(isOutage), {
        halfOpenAfter: c.breakerHalfOpenAfterMs,
        breaker: new ConsecutiveBreaker(c.breakerThreshold),
      });
      const retries = retry(handleWhen(isRetryable), {
        maxAttempts: c.maxRetries,
        backoff: new DelegateBackoff((context) => {
          const error = 'error' in context.result ? context.result.error : undefined;
          // Honour the gateway's Retry-After, capped so one call cannot stall for minutes.
          if (error instanceof SmnThrottledError) return Math.min(error.retryAfterMs, c.retryAfterCapMs);
          // Exponential backoff with full jitter.
          return Math.random() * Math.min(c.backoffMaxMs, c.backoffBaseMs * 2 ** (context.attempt - 1));
        }),
      });
      // abortOnReturn: false — aborting the signal after every finished call built an abort error each time
      // (measured −15% CPU per GET); the deadline still aborts calls that overrun it.
      const deadline = timeout(c.deadlineMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
      entry = { policy: wrap(deadline, retries, breaker), breaker };
      this.policies.set(endpoint, entry);
    }
    return entry;
  }
}

const STATE_NAMES = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
} as const;

/** A bounded label: the failure's class (SmnUnavailableError, SmnThrottledError, SmnTimeoutError, …). */
function reasonOf(error: unknown): string {
  // The class, not `name`: every BffError subclass shares the name 'BffError'.
  return error instanceof Error ? error.constructor.name : 'unknown';
}
