import { ChangeAttempt } from '../audit/change-attempt';
import type { Change, ChangeAttemptLifecycle } from '../audit/change-attempt.lifecycle';
import { BffError } from '../common/bff-error';
import type { SmnEndpoints } from '../smn/smn-endpoints';
import { SmnRejectedError } from '../smn/smn.errors';
import type { SmnCallOptions, SmnPort, SmsCallback, SmsEventType } from '../smn/smn.port';
import { applyUpdate } from '../smn/sms-callback-rules';
import { configurationEtag } from './configuration-etag';
import type { SmsCallbackDto } from './dto/sms-callback.request.dto';
import { SmsCallbackService } from './sms-callback.service';

const PROJECT = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const REGION = 'cn-north-4';
const urn = (topic: string, project = PROJECT, region = REGION) => `urn:smn:${region}:${project}:${topic}`;
const item = (event_type: SmsEventType, topic_urn: string): SmsCallbackDto => ({ event_type, topic_urn });

/** The port in memory: a configuration, SMN's upsert rule, and the calls it saw. */
class FakePort {
  callbacks: SmsCallback[] = [];
  readonly lists: Array<{ projectId: string; eventType?: SmsEventType; options?: SmnCallOptions }> = [];
  readonly updates: Array<{ projectId: string; callbacks: SmsCallback[]; options?: SmnCallOptions }> = [];
  failure?: Error;
  updateFailure?: Error;

  async listSmsCallbacks(projectId: string, eventType?: SmsEventType, options?: SmnCallOptions) {
    this.lists.push({ projectId, eventType, options });
    if (this.failure) throw this.failure;
    return { requestId: 'list-id', callbacks: this.callbacks.filter((c) => !eventType || c.eventType === eventType) };
  }

  async updateSmsCallbacks(projectId: string, callbacks: SmsCallback[], options?: SmnCallOptions) {
    this.updates.push({ projectId, callbacks, options });
    if (this.updateFailure) throw this.updateFailure;
    this.callbacks = applyUpdate(this.callbacks, callbacks);
    return { requestId: 'update-id' };
  }
}

/** Runs the change's steps in the lifecycle's order, without lock, store or deadline; keeps what it saw. */
class FakeLifecycle {
  readonly runs: Array<{ attempt: ChangeAttempt; recordedBefore?: unknown; signals: AbortSignal[] }> = [];

  async run<Before, Result>(attempt: ChangeAttempt, change: Change<Before, Result>): Promise<{ before: Before; result: Result }> {
    const run: FakeLifecycle['runs'][number] = { attempt, signals: [] };
    this.runs.push(run);
    const signal = () => {
      const s = new AbortController().signal;
      run.signals.push(s);
      return s;
    };
    const before = await change.readBefore(signal());
    run.recordedBefore = change.recordedBefore(before);
    change.check(before);
    const result = await change.forward(signal());
    expect(change.upstreamRequestId(result)).toBe('update-id');
    return { before, result };
  }
}

describe('SmsCallbackService', () => {
  let port: FakePort;
  let lifecycle: FakeLifecycle;
  let service: SmsCallbackService;
  const attempt = () => new ChangeAttempt('req-1', PROJECT, '192.0.2.1', 'jest', 15_000);

  beforeEach(() => {
    port = new FakePort();
    lifecycle = new FakeLifecycle();
    const endpoints = { regionOf: (id: string) => (id === PROJECT ? REGION : undefined) } as SmnEndpoints;
    service = new SmsCallbackService(port as unknown as SmnPort, endpoints, lifecycle as unknown as ChangeAttemptLifecycle);
  });

  describe('list', () => {
    it("maps SMN's list to the wire shape with the ETag of the whole configuration", async () => {
      port.callbacks = [
        { eventType: 'sms_fail_event', topicUrn: urn('f') },
        { eventType: 'sms_reply_event', topicUrn: urn('r') },
      ];
      await expect(service.list(PROJECT, {})).resolves.toEqual({
        body: { request_id: 'list-id', callback: [item('sms_fail_event', urn('f')), item('sms_reply_event', urn('r'))] },
        etag: configurationEtag(port.callbacks),
      });
      expect(port.lists).toEqual([{ projectId: PROJECT, eventType: undefined, options: undefined }]);
    });

    it('passes the event type filter on and gives a filtered list no ETag', async () => {
      port.callbacks = [{ eventType: 'sms_fail_event', topicUrn: urn('f') }];
      const result = await service.list(PROJECT, { event_type: 'sms_fail_event' });
      expect(result).toEqual({ body: { request_id: 'list-id', callback: [item('sms_fail_event', urn('f'))] }, etag: undefined });
      expect(port.lists[0].eventType).toBe('sms_fail_event');
    });

    it('answers 404 for a project it does not serve, without calling SMN', async () => {
      await expect(service.list('f'.repeat(32), {})).rejects.toMatchObject({ status: 404, code: 'BFF.PROJECT_NOT_FOUND' });
      expect(port.lists).toEqual([]);
    });

    it("lets the port's typed errors through as they are", async () => {
      port.failure = new SmnRejectedError({ status: 400, code: 'SMN.0100' }, 'bad');
      await expect(service.list(PROJECT, {})).rejects.toBe(port.failure);
    });
  });

  describe('update', () => {
    it('runs the change through the lifecycle: read before, record it, forward the update, each within its signal', async () => {
      port.callbacks = [{ eventType: 'sms_reply_event', topicUrn: urn('r') }];
      const body = { callback: [item('sms_fail_event', urn('f')), item('sms_reply_event', '')] };
      const theAttempt = attempt();

      const result = await service.update(PROJECT, body, undefined, theAttempt);

      const [run] = lifecycle.runs;
      expect(run.attempt).toBe(theAttempt);
      expect(run.recordedBefore).toEqual([item('sms_reply_event', urn('r'))]);
      expect(port.lists).toEqual([{ projectId: PROJECT, eventType: undefined, options: { signal: run.signals[0] } }]);
      expect(port.updates).toEqual([
        {
          projectId: PROJECT,
          callbacks: [
            { eventType: 'sms_fail_event', topicUrn: urn('f') },
            { eventType: 'sms_reply_event', topicUrn: '' },
          ],
          options: { signal: run.signals[1] },
        },
      ]);
      expect(result).toEqual({ body: { request_id: 'update-id' }, etag: configurationEtag(port.callbacks) });
    });

    it('answers the ETag of the configuration after the upsert, computed from the state before', async () => {
      port.callbacks = [
        { eventType: 'sms_success_event', topicUrn: urn('s') },
        { eventType: 'sms_fail_event', topicUrn: urn('f') },
      ];
      const before = [...port.callbacks];
      const { etag } = await service.update(PROJECT, { callback: [item('sms_fail_event', urn('g'))] }, undefined, attempt());
      expect(etag).toBe(configurationEtag(applyUpdate(before, [{ eventType: 'sms_fail_event', topicUrn: urn('g') }])));
      expect(etag).toBe(configurationEtag(port.callbacks));
    });

    it.each<[string, (current: string) => string | undefined, boolean]>([
      ['no If-Match', () => undefined, true],
      ['If-Match: *', () => '*', true],
      ['the current ETag', (current) => current, true],
      ['a list holding the current ETag', (current) => ` "old" , ${current} `, true],
      ['a stale ETag', () => '"old"', false],
      ['the current ETag, weak', (current) => `W/${current}`, false],
      ['an empty If-Match (a list of no tags)', () => '', false],
    ])('with %s', async (_, ifMatch, applies) => {
      port.callbacks = [{ eventType: 'sms_reply_event', topicUrn: urn('r') }];
      const header = ifMatch(configurationEtag(port.callbacks));
      const update = service.update(PROJECT, { callback: [item('sms_fail_event', urn('f'))] }, header, attempt());
      if (applies) {
        await expect(update).resolves.toMatchObject({ body: { request_id: 'update-id' } });
        expect(port.updates).toHaveLength(1);
      } else {
        await expect(update).rejects.toMatchObject({ status: 412, code: 'BFF.PRECONDITION_FAILED' });
        expect(port.updates).toEqual([]);
        // Checked against the state read under the lock, which the record keeps.
        expect(lifecycle.runs[0].recordedBefore).toEqual([item('sms_reply_event', urn('r'))]);
      }
    });

    it('refuses topics of another project or region field by field, before running anything', async () => {
      const other = 'a'.repeat(32);
      const body = {
        callback: [item('sms_fail_event', ''), item('sms_reply_event', urn('t', other)), item('sms_success_event', urn('t', PROJECT, 'eu-west-0'))],
      };
      const error = (await service.update(PROJECT, body, undefined, attempt()).catch((e: unknown) => e)) as BffError;
      // SMN's own rule, so SMN's answer: the URN code of the first such item's type (sms_reply_event).
      expect(error).toMatchObject({ status: 400, code: 'SMN.0144', message: 'The topic URN configured for the response message event is invalid.' });
      expect(error.errors).toEqual([
        { field: 'callback[1].topic_urn', message: `the topic must belong to project ${PROJECT}` },
        { field: 'callback[2].topic_urn', message: `the topic must be in region ${REGION}, the project's region` },
      ]);
      expect(lifecycle.runs).toEqual([]);
    });

    it('answers 404 for a project it does not serve, before running anything', async () => {
      await expect(service.update('f'.repeat(32), { callback: [item('sms_fail_event', '')] }, undefined, attempt())).rejects.toMatchObject({
        status: 404,
        code: 'BFF.PROJECT_NOT_FOUND',
      });
      expect(lifecycle.runs).toEqual([]);
    });

    it('lets a failed forward through as it is', async () => {
      port.updateFailure = new SmnRejectedError({ status: 400, code: 'SMN.0141' }, 'no topic');
      await expect(service.update(PROJECT, { callback: [item('sms_fail_event', urn('f'))] }, undefined, attempt())).rejects.toBe(port.updateFailure);
      expect(port.updates).toHaveLength(1);
    });
  });
});
