import type { UpstreamPolicyConfig } from '../config/app-config';
import { SmnAuthFailedError, SmnCircuitOpenError, SmnRejectedError, SmnThrottledError, SmnTimeoutError, SmnUnavailableError } from './smn.errors';
import { UpstreamResilience } from './upstream-resilience';
import { fakeDate } from '../../test/support/clock';

const ENDPOINT = 'https://smn.cn-north-4.example';

/** Small timings: every test here runs in a few tens of milliseconds. */
function resilience(overrides: Partial<UpstreamPolicyConfig> = {}): UpstreamResilience {
  return new UpstreamResilience({
    attemptTimeoutMs: 1_000,
    deadlineMs: 1_000,
    maxRetries: 2,
    backoffBaseMs: 0,
    backoffMaxMs: 0,
    retryAfterCapMs: 5_000,
    breakerThreshold: 100,
    breakerHalfOpenAfterMs: 10_000,
    maxSockets: 1,
    ...overrides,
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const retryable = () => new SmnUnavailableError('SMN failed (HTTP 503).', { status: 503 }, true);
const outage = () => new SmnUnavailableError('SMN failed (HTTP 500).', { status: 500 }, false);
const throttled = (retryAfterMs: number) => new SmnThrottledError({ status: 429 }, retryAfterMs);

/** An attempt that fails with `errors` in turn (then succeeds), and records when and with what signal it ran. */
function script(...errors: Array<Error | undefined>) {
  const calls: Array<{ at: number; signal: AbortSignal }> = [];
  const start = Date.now();
  const attempt = async (signal: AbortSignal) => {
    calls.push({ at: Date.now() - start, signal });
    const error = errors[calls.length - 1];
    if (error) throw error;
    return `ok after ${calls.length}`;
  };
  return { calls, attempt };
}

/** An attempt that never answers, only its signal ends it. */
function hanging() {
  const signals: AbortSignal[] = [];
  const attempt = (signal: AbortSignal) =>
    new Promise<never>((_, reject) => {
      signals.push(signal);
      signal.addEventListener('abort', () => reject(Object.assign(new Error('canceled'), { code: 'ERR_CANCELED' })));
    });
  return { signals, attempt };
}

afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
});

describe('UpstreamResilience', () => {
  describe('retries', () => {
    it('answers at the first success', async () => {
      const { calls, attempt } = script();
      await expect(resilience().execute(ENDPOINT, attempt)).resolves.toBe('ok after 1');
      expect(calls).toHaveLength(1);
    });

    it.each<[string, () => Error]>([
      ['a timeout', () => new SmnTimeoutError()],
      ['a retryable outage (502/503/504, connection)', retryable],
      ['throttling', () => throttled(0)],
    ])('retries %s, up to UPSTREAM_MAX_RETRIES after the first attempt', async (_, error) => {
      const { calls, attempt } = script(error(), error(), error());
      await expect(resilience({ maxRetries: 2 }).execute(ENDPOINT, attempt)).rejects.toBeInstanceOf(error().constructor);
      expect(calls).toHaveLength(3);
    });

    it('answers the success of a retry', async () => {
      const { calls, attempt } = script(retryable());
      await expect(resilience().execute(ENDPOINT, attempt)).resolves.toBe('ok after 2');
      expect(calls).toHaveLength(2);
    });

    it.each<[string, () => Error]>([
      ['an SMN refusal', () => new SmnRejectedError({ status: 400, code: 'SMN.0141' }, 'no topic')],
      ['refused credentials', () => new SmnAuthFailedError({ status: 401 })],
      ['a 500 or an unreadable answer', outage],
      ['an unexpected error', () => new TypeError('bug')],
    ])('does not retry %s and throws it as it is', async (_, make) => {
      const error = make();
      const { calls, attempt } = script(error);
      await expect(resilience().execute(ENDPOINT, attempt)).rejects.toBe(error);
      expect(calls).toHaveLength(1);
    });

    it('makes one attempt with UPSTREAM_MAX_RETRIES=0', async () => {
      const { calls, attempt } = script(retryable());
      await expect(resilience({ maxRetries: 0 }).execute(ENDPOINT, attempt)).rejects.toBeInstanceOf(SmnUnavailableError);
      expect(calls).toHaveLength(1);
    });
  });

  describe('backoff', () => {
    it('waits random(0, min(max, base·2^n)): exponential, capped, full jitter at its top', async () => {
      jest.spyOn(Math, 'random').mockReturnValue(0.999);
      const { calls, attempt } = script(retryable(), retryable(), retryable());
      await resilience({ maxRetries: 3, backoffBaseMs: 10, backoffMaxMs: 25 }).execute(ENDPOINT, attempt);
      const gaps = calls.slice(1).map((call, i) => call.at - calls[i].at);
      // ~10, ~20, then capped at ~25 (timers never fire early; 2 ms for rounding).
      expect(gaps[0]).toBeGreaterThanOrEqual(8);
      expect(gaps[1]).toBeGreaterThanOrEqual(18);
      expect(gaps[2]).toBeGreaterThanOrEqual(23);
      expect(gaps[2]).toBeLessThan(gaps[1] + 25);
    });

    it('waits nothing when the jitter draws 0', async () => {
      jest.spyOn(Math, 'random').mockReturnValue(0);
      const { calls, attempt } = script(retryable(), retryable());
      await resilience({ backoffBaseMs: 1_000, backoffMaxMs: 1_000 }).execute(ENDPOINT, attempt);
      expect(calls[2].at).toBeLessThan(500);
    });
  });

  describe('Retry-After', () => {
    it('honours a Retry-After below the cap', async () => {
      const { calls, attempt } = script(throttled(20));
      await resilience({ retryAfterCapMs: 5_000 }).execute(ENDPOINT, attempt);
      expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(18);
    });

    it('caps a long Retry-After at UPSTREAM_RETRY_AFTER_CAP_MS', async () => {
      const { calls, attempt } = script(throttled(60_000));
      await resilience({ retryAfterCapMs: 15 }).execute(ENDPOINT, attempt);
      const gap = calls[1].at - calls[0].at;
      expect(gap).toBeGreaterThanOrEqual(13);
      expect(gap).toBeLessThan(1_000);
    });

    it('throws the last throttling error, whose Retry-After the caller receives', async () => {
      const { attempt } = script(throttled(0), throttled(0), throttled(7_000));
      const error = await resilience()
        .execute(ENDPOINT, attempt)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 503, code: 'BFF.UPSTREAM_THROTTLED', headers: { 'retry-after': '7' } });
    });
  });

  describe('circuit breaker', () => {
    it('opens after UPSTREAM_BREAKER_THRESHOLD consecutive failed attempts, then refuses without calling', async () => {
      const policy = resilience({ maxRetries: 0, breakerThreshold: 2, breakerHalfOpenAfterMs: 60_000 });
      const { calls, attempt } = script(outage(), new SmnTimeoutError());
      await expect(policy.execute(ENDPOINT, attempt)).rejects.toBeInstanceOf(SmnUnavailableError);
      expect(policy.circuitStates()).toEqual([{ endpoint: ENDPOINT, state: 'closed' }]);
      await expect(policy.execute(ENDPOINT, attempt)).rejects.toBeInstanceOf(SmnTimeoutError);

      const refusal = await policy.execute(ENDPOINT, attempt).catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(SmnCircuitOpenError);
      expect(refusal).toMatchObject({ status: 503, code: 'BFF.UPSTREAM_UNAVAILABLE', headers: { 'retry-after': '60' } });
      expect(calls).toHaveLength(2);
      expect(policy.circuitStates()).toEqual([{ endpoint: ENDPOINT, state: 'open' }]);
    });

    it('counts every attempt of a retried call, and stops retrying once it opens', async () => {
      const policy = resilience({ maxRetries: 5, breakerThreshold: 2 });
      const { calls, attempt } = script(retryable(), retryable(), retryable());
      await expect(policy.execute(ENDPOINT, attempt)).rejects.toBeInstanceOf(SmnCircuitOpenError);
      expect(calls).toHaveLength(2);
    });

    it('counts neither throttling nor refusals as an outage', async () => {
      const policy = resilience({ maxRetries: 0, breakerThreshold: 1 });
      await expect(policy.execute(ENDPOINT, script(throttled(0)).attempt)).rejects.toBeInstanceOf(SmnThrottledError);
      await expect(policy.execute(ENDPOINT, script(new SmnRejectedError({ status: 400 }, 'no')).attempt)).rejects.toBeInstanceOf(SmnRejectedError);
      expect(policy.circuitStates()).toEqual([{ endpoint: ENDPOINT, state: 'closed' }]);
    });

    it('keeps one circuit per endpoint', async () => {
      const policy = resilience({ maxRetries: 0, breakerThreshold: 1 });
      await policy.execute('https://a.example', script(outage()).attempt).catch(() => undefined);
      await expect(policy.execute('https://b.example', script().attempt)).resolves.toBe('ok after 1');
      expect(policy.circuitStates()).toEqual([
        { endpoint: 'https://a.example', state: 'open' },
        { endpoint: 'https://b.example', state: 'closed' },
      ]);
    });

    it('lets one probe through after UPSTREAM_BREAKER_HALF_OPEN_MS: a failed probe opens it again, a good one closes it', async () => {
      // cockatiel reads Date.now(): the half-open delay passes when the test moves the clock, never by itself.
      const clock = fakeDate();
      const policy = resilience({ maxRetries: 0, breakerThreshold: 1, breakerHalfOpenAfterMs: 10_000 });
      await policy.execute(ENDPOINT, script(outage()).attempt).catch(() => undefined);
      await expect(policy.execute(ENDPOINT, script().attempt)).rejects.toBeInstanceOf(SmnCircuitOpenError);

      clock.advance(9_999);
      await expect(policy.execute(ENDPOINT, script().attempt)).rejects.toBeInstanceOf(SmnCircuitOpenError);
      clock.advance(1);
      const failedProbe = script(outage());
      await expect(policy.execute(ENDPOINT, failedProbe.attempt)).rejects.toBeInstanceOf(SmnUnavailableError);
      expect(failedProbe.calls).toHaveLength(1);
      expect(policy.circuitStates()[0].state).toBe('open');
      await expect(policy.execute(ENDPOINT, script().attempt)).rejects.toBeInstanceOf(SmnCircuitOpenError);

      clock.advance(10_000);
      let release!: () => void;
      const probe = policy.execute(ENDPOINT, () => new Promise<string>((resolve) => (release = () => resolve('probe'))));
      expect(policy.circuitStates()[0].state).toBe('half-open');
      // A call during the probe waits for its verdict rather than going out alongside it.
      const waiting = script();
      const next = policy.execute(ENDPOINT, waiting.attempt);
      await sleep(5);
      expect(waiting.calls).toHaveLength(0);
      release();
      await expect(probe).resolves.toBe('probe');
      await expect(next).resolves.toBe('ok after 1');
      expect(policy.circuitStates()[0].state).toBe('closed');
    });
  });

  describe('deadline', () => {
    it('ends a call that overruns UPSTREAM_DEADLINE_MS with 504 and aborts the attempt', async () => {
      const { signals, attempt } = hanging();
      const error = await resilience({ deadlineMs: 20 })
        .execute(ENDPOINT, attempt)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SmnTimeoutError);
      expect(error).toMatchObject({ status: 504, code: 'BFF.UPSTREAM_TIMEOUT', message: expect.stringContaining('20 ms deadline') });
      expect(signals).toHaveLength(1);
      expect(signals[0].aborted).toBe(true);
    });

    it('bounds retries and backoff too', async () => {
      const { attempt } = script(throttled(10_000), throttled(10_000), throttled(10_000));
      const started = Date.now();
      await expect(resilience({ deadlineMs: 25, retryAfterCapMs: 200 }).execute(ENDPOINT, attempt)).rejects.toBeInstanceOf(SmnTimeoutError);
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    // cockatiel's retry loop does not wake from its backoff when the deadline aborts: the attempt itself
    // refuses to start with an aborted signal (it would sign, and maybe fetch an IAM token, for nothing).
    it('makes no attempt after the deadline', async () => {
      jest.spyOn(Math, 'random').mockReturnValue(0.999);
      const { calls, attempt } = script(retryable(), retryable(), retryable());
      await expect(resilience({ deadlineMs: 15, backoffBaseMs: 40, backoffMaxMs: 40 }).execute(ENDPOINT, attempt)).rejects.toBeInstanceOf(SmnTimeoutError);
      await sleep(60);
      expect(calls).toHaveLength(1);
    });
  });

  describe('outer signal', () => {
    it("ends the call when the caller's share of a larger deadline runs out, and aborts the attempt", async () => {
      const { signals, attempt } = hanging();
      const outer = new AbortController();
      setTimeout(() => outer.abort(), 10);
      const error = await resilience({ deadlineMs: 5_000 })
        .execute(ENDPOINT, attempt, outer.signal)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SmnTimeoutError);
      expect((error as Error).message).toContain('time left to this request');
      expect(signals[0].aborted).toBe(true);
    });

    it('stops retrying once it is aborted', async () => {
      const outer = new AbortController();
      const calls: number[] = [];
      const attempt = async () => {
        calls.push(Date.now());
        outer.abort();
        throw retryable();
      };
      await expect(resilience({ maxRetries: 5 }).execute(ENDPOINT, attempt, outer.signal)).rejects.toBeInstanceOf(SmnTimeoutError);
      expect(calls).toHaveLength(1);
    });

    it('reports an already aborted signal as a timeout', async () => {
      const { calls, attempt } = script();
      const error = await resilience()
        .execute(ENDPOINT, attempt, AbortSignal.abort())
        .catch((e: unknown) => e);
      // Whether the attempt ran or not, the caller hears that the time ran out.
      expect(error).toBeInstanceOf(SmnTimeoutError);
      expect(calls.every((call) => call.signal.aborted)).toBe(true);
    });
  });
});
