import { verifyAuditChain } from '../../src/audit/verify-audit-chain';
import { SmnRejectedError } from '../../src/smn/smn.errors';
import type { SmsCallback, SmsEventType } from '../../src/smn/smn.port';
import { aRecord, aSigningKey, anIntent, PROJECT_A, PROJECT_B } from '../audit/support/audit-factories';
import { FakeSmnPort, smnFailures } from './support/fake-smn.port';
import { MemoryAuditStore } from './support/memory-audit.store';

/**
 * The contract tier is only as good as its doubles: the rules of KyselyAuditStore and of SMN that the
 * suites rely on, checked on the doubles themselves (the SQL stores are held to the same by test/audit).
 */
describe('MemoryAuditStore keeps the rules of the SQL stores', () => {
  const key = aSigningKey();
  let time: number;
  let store: MemoryAuditStore;
  beforeEach(() => {
    time = Date.parse('2026-12-01T10:00:00.000Z');
    store = new MemoryAuditStore(() => time);
  });
  const verify = () => verifyAuditChain(store, key.publicKey);
  const columns = (intent: ReturnType<typeof anIntent>) => {
    const { instance_id: _instance, ...attempt } = intent;
    return attempt;
  };

  it('turns an intent into one record, links records into a signed chain, and stores a retry once', async () => {
    const intent = anIntent();
    await store.writeIntent(intent);
    const first = await store.finalize(intent.id, { ...aRecord(), ...columns(intent) }, key);
    const retry = await store.finalize(intent.id, { ...aRecord(), ...columns(intent) }, key);
    const second = await store.finalize(null, aRecord({ outcome: 'denied', http_status: 401 }), key);

    expect(store.pendingIntents()).toEqual([]);
    expect(retry).toEqual(first);
    expect(first).toMatchObject({ seq: 1, prev_hash: '0'.repeat(64), recorded_at: '2026-12-01T10:00:00.000Z' });
    expect(second.prev_hash).toBe(first.hash);
    expect(await store.readHead()).toEqual({ seq: 2, hash: second.hash });
    expect(await verify()).toEqual({ ok: true, count: 2 });
  });

  it('sweeps by its own clock: old intents, and young ones of an instance whose lease expired', async () => {
    await store.renewLease('alive', 60_000);
    await store.renewLease('dying', 5_000);
    const old = anIntent({ instance_id: 'alive' });
    await store.writeIntent(old);
    time += 120_000;
    await store.renewLease('alive', 60_000);
    const young = anIntent({ instance_id: 'alive' });
    const orphan = anIntent({ instance_id: 'dying' });
    await store.writeIntent(young);
    await store.writeIntent(orphan);

    const swept = await store.finalizeStaleIntents({ olderThanMs: 60_000 }, key);

    expect(swept.map((r) => r.id).sort()).toEqual([old.id, orphan.id].sort());
    expect(swept.every((r) => r.outcome === 'unknown' && r.http_status === null)).toBe(true);
    expect(store.pendingIntents().map((i) => i.id)).toEqual([young.id]);
    expect(await store.finalizeStaleIntents({ olderThanMs: 60_000 }, key)).toEqual([]);
  });

  it('lets a late outcome amend the swept record once, and spends an intent that landed after its record', async () => {
    const intent = anIntent({ instance_id: 'gone' });
    await store.writeIntent(intent);
    const [swept] = await store.finalizeStaleIntents({ olderThanMs: 60_000 }, key);
    const late = { ...aRecord(), ...columns(intent), http_status: 200 };
    const amending = await store.finalize(intent.id, late, key);
    expect(await store.finalize(intent.id, late, key)).toEqual(amending);
    expect(amending).toMatchObject({ amends: intent.id, outcome: 'succeeded' });
    expect(amending.id).not.toBe(swept.id);

    const record = aRecord();
    await store.finalize(null, record, key);
    await store.writeIntent(anIntent({ id: record.id, instance_id: 'gone' }));
    expect(await store.finalizeStaleIntents({ olderThanMs: 60_000 }, key)).toEqual([]);
    expect(store.pendingIntents()).toEqual([]);
    expect(await verify()).toEqual({ ok: true, count: 3 });
  });

  it('queries newest first with the same filters, keyset pages and cursor refusal', async () => {
    const specs = [
      { project_id: PROJECT_A, actor_subject: 'alice', outcome: 'succeeded' },
      { project_id: PROJECT_B, actor_subject: 'bob', outcome: 'denied' },
      { project_id: PROJECT_A, actor_subject: 'bob', outcome: 'failed' },
    ] as const;
    for (const spec of specs) {
      await store.finalize(null, aRecord(spec), key);
      time += 1_000;
    }
    const seqs = async (query: Partial<Parameters<MemoryAuditStore['query']>[0]>) =>
      (await store.query({ projectIds: '*', limit: 50, ...query })).items.map((r) => r.seq);

    expect(await seqs({})).toEqual([3, 2, 1]);
    expect(await seqs({ projectIds: [PROJECT_A] })).toEqual([3, 1]);
    expect(await seqs({ projectIds: [PROJECT_A], projectId: PROJECT_B })).toEqual([]);
    expect(await seqs({ actor: 'bob', outcome: 'failed' })).toEqual([3]);
    expect(await seqs({ from: new Date('2026-12-01T10:00:01.000Z'), to: new Date('2026-12-01T10:00:02.000Z') })).toEqual([2]);
    const page = await store.query({ projectIds: '*', limit: 2 });
    expect(await seqs({ limit: 2, cursor: page.next_cursor! })).toEqual([1]);
    await expect(store.query({ projectIds: '*', limit: 2, cursor: 'nope' })).rejects.toMatchObject({ status: 400, code: 'BFF.VALIDATION_FAILED' });
  });

  it('locks projects in arrival order, answers PROJECT_BUSY past the wait, and can lose a lock', async () => {
    const held = await store.lockProject(PROJECT_A, 100);
    await expect(store.lockProject(PROJECT_A, 20)).rejects.toMatchObject({ status: 503, code: 'BFF.PROJECT_BUSY' });
    const other = await store.lockProject(PROJECT_B, 20);
    store.loseLocks(PROJECT_A);
    expect(held.lost.aborted).toBe(true);
    expect(other.lost.aborted).toBe(false);
    await held.release();
    await held.release();
    await other.release();
    expect(store.locksHeld(PROJECT_A)).toBe(0);
    await (await store.lockProject(PROJECT_A, 20)).release();
  });

  it('fails scripted calls, then recovers; refuses everything once closed', async () => {
    store.failNext('writeIntent', new Error('boom'));
    await expect(store.writeIntent(anIntent())).rejects.toThrow('boom');
    await expect(store.writeIntent(anIntent())).resolves.toBeUndefined();
    store.goDown();
    await expect(store.ping()).rejects.toThrow('unavailable');
    store.comeBack();
    await store.close();
    await expect(store.ping()).rejects.toThrow('closed');
  });
});

describe("FakeSmnPort keeps SMN's rules", () => {
  const P = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
  const urn = (topic: string, region = 'cn-north-4', project = P) => `urn:smn:${region}:${project}:${topic}`;
  const change = (eventType: SmsEventType, topicUrn: string): SmsCallback => ({ eventType, topicUrn });
  let smn: FakeSmnPort;
  beforeEach(() => {
    smn = new FakeSmnPort().addProject(P, 'cn-north-4', ['t']);
  });

  it.each<[string, SmsCallback[], string]>([
    ['a missing fail topic', [change('sms_fail_event', urn('missing'))], 'SMN.0141'],
    ['a missing success topic', [change('sms_success_event', urn('missing'))], 'SMN.0143'],
    ['a missing reply topic', [change('sms_reply_event', urn('missing'))], 'SMN.0145'],
    ['a URN of another region', [change('sms_fail_event', urn('t', 'eu-west-0'))], 'SMN.0140'],
    ['a URN of another project', [change('sms_reply_event', urn('t', 'cn-north-4', 'a'.repeat(32)))], 'SMN.0144'],
    ['an unknown event type', [change('sms_x_event' as SmsEventType, '')], 'SMN.0100'],
    ['one bad item among good ones (nothing applied)', [change('sms_reply_event', urn('t')), change('sms_fail_event', urn('missing'))], 'SMN.0141'],
  ])('refuses %s with 400 %s and changes nothing', async (_, callbacks, code) => {
    const error = await smn.updateSmsCallbacks(P, callbacks).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmnRejectedError);
    expect(error).toMatchObject({ status: 400, code, upstream: { status: 400, code } });
    expect(smn.configuration(P)).toEqual([]);
  });

  it('upserts per type, removes with "", and lists one type on request', async () => {
    await smn.updateSmsCallbacks(P, [change('sms_fail_event', urn('t')), change('sms_reply_event', urn('t'))]);
    await smn.updateSmsCallbacks(P, [change('sms_fail_event', '')]);
    expect(smn.configuration(P)).toEqual([change('sms_reply_event', urn('t'))]);
    expect((await smn.listSmsCallbacks(P, 'sms_fail_event')).callbacks).toEqual([]);
  });

  it('throws a scripted failure once, after applying when told to', async () => {
    smn.failNext('updateSmsCallbacks', smnFailures.timeoutAfterSending(), { afterApplying: true });
    await expect(smn.updateSmsCallbacks(P, [change('sms_fail_event', urn('t'))])).rejects.toMatchObject({ status: 504, outcomeUnknown: true });
    expect(smn.configuration(P)).toEqual([change('sms_fail_event', urn('t'))]);
    await expect(smn.updateSmsCallbacks(P, [change('sms_fail_event', '')])).resolves.toEqual({ requestId: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  it('ends a call whose signal was aborted as the adapter does', async () => {
    await expect(smn.listSmsCallbacks(P, undefined, { signal: AbortSignal.abort() })).rejects.toMatchObject({ status: 504, code: 'BFF.UPSTREAM_TIMEOUT' });
  });
});
