import type { HttpAdapterHost } from '@nestjs/core';
import { BffError } from '../common/bff-error';
import type { RateLimiter } from '../rate-limit/rate-limiter.service';
import { SmnRejectedError } from '../smn/smn.errors';
import { auditUnavailable, ProjectBusyError } from './audit-errors';
import type { AuditOptions } from './audit-options';
import type { AuditService } from './audit.service';
import type { AuditAttemptColumns, NewAuditRecord } from './audit.types';
import { ChangeAttempt } from './change-attempt';
import { Change, ChangeAttemptLifecycle } from './change-attempt.lifecycle';

const PROJECT = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

/** The audit service as the pipeline sees it: a lock that can be lost, intents, final records; every call logged. */
class FakeAudit {
  readonly events: string[] = [];
  readonly lockWaits: number[] = [];
  readonly intents: Array<{ intent: AuditAttemptColumns; timeoutMs: number }> = [];
  readonly finals: Array<{ intentId: string | null; record: NewAuditRecord; timeoutMs: number }> = [];
  readonly lock = new AbortController();
  lockError?: Error;
  beginError?: Error;

  async lockProject(projectId: string, waitMs: number) {
    this.events.push(`lock ${projectId}`);
    this.lockWaits.push(waitMs);
    if (this.lockError) throw this.lockError;
    return { lost: this.lock.signal, release: async () => void this.events.push('release') };
  }

  async begin(intent: AuditAttemptColumns, timeoutMs: number) {
    this.events.push('intent');
    if (this.beginError) throw this.beginError;
    this.intents.push({ intent, timeoutMs });
  }

  async finalize(intentId: string | null, record: NewAuditRecord, timeoutMs: number) {
    this.events.push(`final ${record.outcome}`);
    this.finals.push({ intentId, record, timeoutMs });
  }
}

const OPTIONS = { changeDeadlineMs: 2_000, lockWaitMs: 5_000, statementTimeoutMs: 300 } as AuditOptions;

function lifecycle(options: Partial<AuditOptions> = {}) {
  const audit = new FakeAudit();
  const owner = new ChangeAttemptLifecycle(
    {} as HttpAdapterHost,
    audit as unknown as AuditService,
    {} as RateLimiter,
    { ...OPTIONS, ...options } as AuditOptions,
  );
  return { audit, owner };
}

const newAttempt = (deadlineMs = OPTIONS.changeDeadlineMs) => {
  const attempt = new ChangeAttempt('req-1', PROJECT, '192.0.2.1', 'jest', deadlineMs);
  attempt.identify({ kind: 'api-key', subject: 'writer', scopes: new Set(), projects: '*' });
  attempt.requested = { callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] };
  return attempt;
};

/** A change whose steps log themselves into `events`; `overrides` replace steps. */
function change(
  events: string[],
  overrides: Partial<Change<string[], { requestId: string }>> = {},
): Change<string[], { requestId: string }> & { signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  return {
    signals,
    readBefore: async (signal) => {
      events.push('read');
      signals.push(signal);
      return ['before'];
    },
    recordedBefore: (before) => ({ recorded: before }),
    check: () => void events.push('check'),
    forward: async (signal) => {
      events.push('forward');
      signals.push(signal);
      return { requestId: 'smn-id' };
    },
    upstreamRequestId: (result) => result.requestId,
    ...overrides,
  };
}

describe('ChangeAttemptLifecycle.run', () => {
  it('runs lock → read before → check → intent → forward → final record → release, and answers the result', async () => {
    const { audit, owner } = lifecycle();
    const attempt = newAttempt();

    await expect(owner.run(attempt, change(audit.events))).resolves.toEqual({ before: ['before'], result: { requestId: 'smn-id' } });

    expect(audit.events).toEqual([`lock ${PROJECT}`, 'read', 'check', 'intent', 'forward', 'final succeeded', 'release']);
    expect(audit.intents[0].intent).toMatchObject({
      id: attempt.id,
      request_id: 'req-1',
      actor_kind: 'api-key',
      actor_subject: 'writer',
      project_id: PROJECT,
      requested: attempt.requested,
      before: { recorded: ['before'] },
    });
    expect(audit.finals).toEqual([
      {
        intentId: attempt.id,
        record: expect.objectContaining({
          id: attempt.id,
          outcome: 'succeeded',
          http_status: 200,
          error_code: null,
          upstream_status: 200,
          upstream_request_id: 'smn-id',
          amends: null,
        }),
        timeoutMs: expect.any(Number),
      },
    ]);
    expect(attempt).toMatchObject({ intentCommitted: true, forwarded: true, recorded: true, failure: undefined });
  });

  it("keeps the final record's share of the deadline back from the lock wait, the read, the intent and the forward", async () => {
    // Reserve: min(statement timeout 300, deadline/4 = 500) = 300; budget ≈ 2000 − 300.
    const { audit, owner } = lifecycle();
    const steps = change(audit.events);
    await owner.run(newAttempt(), steps);
    expect(audit.lockWaits[0]).toBeLessThanOrEqual(1_700);
    expect(audit.lockWaits[0]).toBeGreaterThan(1_600);
    expect(audit.intents[0].timeoutMs).toBe(300);
    expect(audit.finals[0].timeoutMs).toBeGreaterThan(1_600);

    const { audit: short, owner: patient } = lifecycle({ lockWaitMs: 100 });
    await patient.run(newAttempt(), change(short.events));
    expect(short.lockWaits[0]).toBe(100);
  });

  it('aborts the read before within the budget', async () => {
    // Deadline 200: reserve 50, so the read gets about 150 ms.
    const { audit, owner } = lifecycle({ changeDeadlineMs: 200 });
    const started = Date.now();
    const hanging = change(audit.events, {
      readBefore: (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new BffError(504, 'BFF.UPSTREAM_TIMEOUT', 'slow')))),
    });
    await expect(owner.run(newAttempt(200), hanging)).rejects.toMatchObject({ status: 504 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(audit.events).toEqual([`lock ${PROJECT}`, 'release']);
  });

  it.each<[string, (audit: FakeAudit) => Partial<Change<string[], { requestId: string }>>, string[]]>([
    [
      'a failed precondition',
      () => ({
        check: () => {
          throw new BffError(412, 'BFF.PRECONDITION_FAILED', 'changed');
        },
      }),
      [`lock ${PROJECT}`, 'read', 'release'],
    ],
    [
      'a failed read before',
      () => ({
        readBefore: async () => {
          throw new BffError(502, 'BFF.UPSTREAM_UNAVAILABLE', 'down');
        },
      }),
      [`lock ${PROJECT}`, 'release'],
    ],
    ['a lock lost before the intent', (audit) => ({ check: () => audit.lock.abort(new Error('session died')) }), [`lock ${PROJECT}`, 'read', 'release']],
  ])('after %s: no intent, nothing forwarded, no record written here (the onSend hook writes it), lock released', async (_, steps, events) => {
    const { audit, owner } = lifecycle();
    const attempt = newAttempt();
    const error = await owner.run(attempt, change(audit.events, steps(audit))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BffError);
    expect(audit.events).toEqual(events);
    expect(attempt).toMatchObject({ intentCommitted: false, forwarded: false, recorded: false, failure: error });
  });

  it('fails closed when the lock is lost before the intent: 503 BFF.AUDIT_UNAVAILABLE', async () => {
    const { audit, owner } = lifecycle();
    const steps = change(audit.events, { check: () => audit.lock.abort(new Error('session died')) });
    await expect(owner.run(newAttempt(), steps)).rejects.toMatchObject({ status: 503, code: 'BFF.AUDIT_UNAVAILABLE', outcomeUnknown: false });
  });

  it('does not forward when the intent cannot be written, and lets its 503 through', async () => {
    const { audit, owner } = lifecycle();
    audit.beginError = auditUnavailable(new Error('down'));
    await expect(owner.run(newAttempt(), change(audit.events))).rejects.toBe(audit.beginError);
    expect(audit.events).toEqual([`lock ${PROJECT}`, 'read', 'check', 'intent', 'release']);
  });

  it('does nothing when the lock cannot be taken (nothing to release)', async () => {
    const { audit, owner } = lifecycle();
    audit.lockError = new ProjectBusyError(5);
    await expect(owner.run(newAttempt(), change(audit.events))).rejects.toBe(audit.lockError);
    expect(audit.events).toEqual([`lock ${PROJECT}`]);
  });

  it.each<[string, Error, Partial<NewAuditRecord>]>([
    [
      'SMN refused it',
      new SmnRejectedError({ status: 400, code: 'SMN.0141', request_id: 'smn-id' }, 'no topic'),
      { outcome: 'rejected', http_status: 400, error_code: 'SMN.0141', upstream_status: 400, upstream_request_id: 'smn-id' },
    ],
    [
      'the answer was lost',
      new BffError(504, 'BFF.UPSTREAM_TIMEOUT', 'slow', { outcomeUnknown: true }),
      { outcome: 'unknown', http_status: 504, error_code: 'BFF.UPSTREAM_TIMEOUT' },
    ],
    ['a provable connection failure', new BffError(502, 'BFF.UPSTREAM_UNAVAILABLE', 'refused'), { outcome: 'failed', http_status: 502 }],
    ['an unexpected error', new TypeError('bug'), { outcome: 'unknown', http_status: 500 }],
  ])('writes the final record of a forward that failed because %s, and rethrows', async (_, thrown, record) => {
    const { audit, owner } = lifecycle();
    const attempt = newAttempt();
    const steps = change(audit.events, { forward: async () => Promise.reject(thrown) });
    await expect(owner.run(attempt, steps)).rejects.toBe(thrown);
    expect(audit.finals).toEqual([{ intentId: attempt.id, record: expect.objectContaining(record), timeoutMs: expect.any(Number) }]);
    expect(audit.events.slice(-2)).toEqual([`final ${record.outcome}`, 'release']);
    expect(attempt).toMatchObject({ forwarded: true, recorded: true, failure: thrown });
  });

  it('turns a success into unknown when the lock was lost while forwarding', async () => {
    const { audit, owner } = lifecycle();
    const steps = change(audit.events, {
      forward: async () => {
        audit.lock.abort(new Error('session died'));
        return { requestId: 'smn-id' };
      },
    });
    await expect(owner.run(newAttempt(), steps)).rejects.toMatchObject({ status: 503, code: 'BFF.AUDIT_UNAVAILABLE', outcomeUnknown: true });
    expect(audit.finals[0].record).toMatchObject({ outcome: 'unknown', http_status: 503, error_code: 'BFF.AUDIT_UNAVAILABLE' });
  });
});
