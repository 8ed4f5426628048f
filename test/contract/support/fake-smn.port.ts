import { randomBytes } from 'node:crypto';
import { BffError } from '../../../src/common/bff-error';
import { ErrorCode } from '../../../src/common/error-codes';
import { requestContext } from '../../../src/common/request-context';
import {
  SmnAuthFailedError,
  SmnCircuitOpenError,
  SmnRejectedError,
  SmnThrottledError,
  SmnTimeoutError,
  SmnUnavailableError,
} from '../../../src/smn/smn.errors';
import { SMS_EVENT_TYPES, SmnCallOptions, SmnPort, SmnWriteResult, SmsCallback, SmsCallbackList, SmsEventType } from '../../../src/smn/smn.port';
import { applyUpdate, TOPIC_URN } from '../../../src/smn/sms-callback-rules';

export type FakeSmnOperation = 'listSmsCallbacks' | 'updateSmsCallbacks';

/** One call the BFF made, as the fake saw it. */
export interface FakeSmnCall {
  operation: FakeSmnOperation;
  projectId: string;
  eventType?: SmsEventType;
  callbacks?: SmsCallback[];
  /** The BFF's correlation id, as the real adapter would send it in `X-Request-Id`. */
  callerRequestId?: string;
  /** The request id the fake answered with (also on refusals). */
  requestId: string;
}

interface Step {
  operation: FakeSmnOperation;
  /** Runs when the call arrives, before the fake does anything else (e.g. to make a lock lost). */
  hook?: () => void | Promise<void>;
  error?: unknown;
  /** Apply the update first, then throw: the change reached SMN but its answer was lost. */
  afterApplying?: boolean;
}

interface FakeProject {
  region: string;
  topics: Set<string>;
  callbacks: SmsCallback[];
}

/** SMN's codes for a bad URN and a missing topic, per event type (as the emulator answers them). */
const URN_CODES: Record<SmsEventType, { invalid: string; missing: string }> = {
  sms_fail_event: { invalid: 'SMN.0140', missing: 'SMN.0141' },
  sms_success_event: { invalid: 'SMN.0142', missing: 'SMN.0143' },
  sms_reply_event: { invalid: 'SMN.0144', missing: 'SMN.0145' },
};

/**
 * The SMN port in memory, with SMN's semantics: ListSmsEvent lists the configured types (optionally one),
 * UpdateSmsEvent validates the whole body first (event type, URN of the project and region, existing topic;
 * SMN.01xx otherwise) and then upserts per type through `applyUpdate`. Calls are logged, and the next call
 * of an operation can be scripted to fail, before or after it applied.
 */
export class FakeSmnPort extends SmnPort {
  readonly calls: FakeSmnCall[] = [];
  /** SMN lists callbacks in no promised order: `reversed` proves the ETag does not depend on it. */
  listOrder: 'stored' | 'reversed' = 'stored';
  private readonly projects = new Map<string, FakeProject>();
  private readonly steps: Step[] = [];

  addProject(projectId: string, region: string, topics: string[], callbacks: SmsCallback[] = []): this {
    this.projects.set(projectId, { region, topics: new Set(topics), callbacks: callbacks.map((c) => ({ ...c })) });
    return this;
  }

  /** The project's configuration as SMN holds it now. */
  configuration(projectId: string): SmsCallback[] {
    return this.project(projectId).callbacks.map((c) => ({ ...c }));
  }

  setConfiguration(projectId: string, callbacks: SmsCallback[]): void {
    this.project(projectId).callbacks = callbacks.map((c) => ({ ...c }));
  }

  /** The next call of `operation` throws `error` (after applying the update, with `afterApplying`). */
  failNext(operation: FakeSmnOperation, error: unknown, options: { afterApplying?: boolean } = {}): this {
    this.steps.push({ operation, error, afterApplying: options.afterApplying });
    return this;
  }

  /** Runs `hook` when the next call of `operation` arrives; the call then proceeds as scripted or normally. */
  onNext(operation: FakeSmnOperation, hook: () => void | Promise<void>): this {
    this.steps.push({ operation, hook });
    return this;
  }

  callsOf(callerRequestId: string, operation?: FakeSmnOperation): FakeSmnCall[] {
    return this.calls.filter((c) => c.callerRequestId === callerRequestId && (!operation || c.operation === operation));
  }

  /** Forgets calls and scripted steps; the configuration stays. */
  reset(): void {
    this.calls.length = 0;
    this.steps.length = 0;
    this.listOrder = 'stored';
  }

  async listSmsCallbacks(projectId: string, eventType?: SmsEventType, options: SmnCallOptions = {}): Promise<SmsCallbackList> {
    const call = this.log({ operation: 'listSmsCallbacks', projectId, eventType });
    const step = await this.runHooks('listSmsCallbacks');
    if (step?.error) throw step.error;
    assertNotAborted(options.signal);
    const project = this.servedProject(projectId, call.requestId);
    const listed = project.callbacks.filter((c) => !eventType || c.eventType === eventType).map((c) => ({ ...c }));
    return { requestId: call.requestId, callbacks: this.listOrder === 'reversed' ? listed.reverse() : listed };
  }

  async updateSmsCallbacks(projectId: string, callbacks: SmsCallback[], options: SmnCallOptions = {}): Promise<SmnWriteResult> {
    const call = this.log({ operation: 'updateSmsCallbacks', projectId, callbacks: callbacks.map((c) => ({ ...c })) });
    const step = await this.runHooks('updateSmsCallbacks');
    if (step?.error && !step.afterApplying) throw step.error;
    assertNotAborted(options.signal);
    const project = this.servedProject(projectId, call.requestId);
    const refusal = validateUpdate(projectId, project, callbacks);
    if (refusal) throw new SmnRejectedError({ status: 400, code: refusal.code, request_id: call.requestId }, refusal.message);
    project.callbacks = applyUpdate(project.callbacks, callbacks);
    if (step?.error) throw step.error;
    return { requestId: call.requestId };
  }

  private log(call: Omit<FakeSmnCall, 'requestId' | 'callerRequestId'>): FakeSmnCall {
    const entry = { ...call, callerRequestId: requestContext.current()?.requestId, requestId: smnRequestId() };
    this.calls.push(entry);
    return entry;
  }

  /** Runs the hooks queued for `operation` and returns its scripted failure, if any (one per call). */
  private async runHooks(operation: FakeSmnOperation): Promise<Step | undefined> {
    for (;;) {
      const index = this.steps.findIndex((s) => s.operation === operation);
      if (index < 0) return undefined;
      const [step] = this.steps.splice(index, 1);
      if (step.hook) {
        await step.hook();
        continue;
      }
      return step;
    }
  }

  private project(projectId: string): FakeProject {
    const project = this.projects.get(projectId);
    if (!project) throw new Error(`the fake SMN has no project ${projectId}`);
    return project;
  }

  /** Real SMN refuses credentials that are not the project's with 403 SMN.0001. */
  private servedProject(projectId: string, requestId: string): FakeProject {
    const project = this.projects.get(projectId);
    if (!project) throw new SmnAuthFailedError({ status: 403, code: 'SMN.0001', request_id: requestId });
    return project;
  }
}

function validateUpdate(projectId: string, project: FakeProject, callbacks: SmsCallback[]): { code: string; message: string } | undefined {
  if (callbacks.length === 0) return { code: 'SMN.9999', message: 'The request body is invalid.' };
  const seen = new Set<string>();
  for (const { eventType, topicUrn } of callbacks) {
    if (!SMS_EVENT_TYPES.includes(eventType)) return { code: 'SMN.0100', message: 'The eventType parameter is invalid.' };
    if (seen.has(eventType)) return { code: 'SMN.9999', message: 'The request body is invalid.' };
    seen.add(eventType);
    if (topicUrn === '') continue;
    const [, region, urnProject, topic] = TOPIC_URN.exec(topicUrn) ?? [];
    if (region !== project.region || urnProject !== projectId) return { code: URN_CODES[eventType].invalid, message: 'The topic URN is invalid.' };
    if (!project.topics.has(topic)) return { code: URN_CODES[eventType].missing, message: 'The topic does not exist.' };
  }
  return undefined;
}

/** The real adapter ends a call whose outer signal fired with this error. */
function assertNotAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SmnTimeoutError('SMN did not answer within the time left to this request.');
}

/** SMN's request ids are 32 hex characters. */
export function smnRequestId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The failures the real adapter (SmnHttpClient) throws, built the way it builds them, for scripting the fake.
 * `*AfterSending` ones carry `outcomeUnknown`: the change may have been applied.
 */
export const smnFailures = {
  /** A connection that was never made (ECONNREFUSED): provably nothing was sent. */
  unreachable: () =>
    new SmnUnavailableError(
      'SMN could not be reached (ECONNREFUSED).',
      undefined,
      true,
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ),
  serverError: (requestId = smnRequestId()) => new SmnUnavailableError('SMN failed (HTTP 500).', { status: 500, code: 'SMN.0018', request_id: requestId }),
  authFailed: (requestId = smnRequestId()) => new SmnAuthFailedError({ status: 403, code: 'SMN.0001', request_id: requestId }),
  throttled: (retryAfterMs = 3000, requestId = smnRequestId()) =>
    new SmnThrottledError({ status: 429, code: 'APIGW.0308', request_id: requestId }, retryAfterMs),
  circuitOpen: (retryAfterSec = 10) => new SmnCircuitOpenError(retryAfterSec),
  timeout: () => new SmnTimeoutError(),
  /** What the adapter makes of a timeout after the PUT was sent (`withUnknownOutcome`). */
  timeoutAfterSending: () =>
    new BffError(504, ErrorCode.UpstreamTimeout, 'SMN did not answer in time. The change may have been applied: GET the configuration to see.', {
      cause: new SmnTimeoutError(),
      outcomeUnknown: true,
    }),
  /** A 500 to the PUT, which may have applied it. */
  serverErrorAfterSending: (requestId = smnRequestId()) =>
    new BffError(502, ErrorCode.UpstreamUnavailable, 'SMN failed (HTTP 500). The change may have been applied: GET the configuration to see.', {
      upstream: { status: 500, code: 'SMN.0018', request_id: requestId },
      outcomeUnknown: true,
    }),
};
