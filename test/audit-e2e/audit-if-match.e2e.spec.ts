import type { Response } from 'supertest';
import { CALLBACK_PATH, SEED_BODY, urn } from '../support/bff-harness';
import { emulatorRequests, resetEmulator } from '../support/emulator-admin';
import { storeKinds, newRequestId, recordsOf, storeOf, auditHarnessPerSuite } from '../support/audit-backend';

const ONLY_FAIL = { callback: [{ event_type: 'sms_fail_event', topic_urn: urn('test_fail') }] };
const byType = <T extends { event_type: string }>(items: T[]) => [...items].sort((a, b) => a.event_type.localeCompare(b.event_type));

/** Optimistic concurrency (README, API: ETag and If-Match): read, compare and write under the project lock; the audit tells the story. */
describe.each(storeKinds())('If-Match under the project lock on %s', (kind) => {
  const suite = auditHarnessPerSuite(kind, { LOG_LEVEL: 'warn' });
  beforeEach(() => resetEmulator(suite.h.emulator));

  const etag = async (): Promise<string> => (await suite.h.api.get(CALLBACK_PATH).expect(200)).headers.etag;
  const put = (id: string, body: unknown, ifMatch?: string) => {
    const req = suite.h.api.put(CALLBACK_PATH).set('X-Request-Id', id);
    return (ifMatch === undefined ? req : req.set('If-Match', ifMatch)).send(body as object);
  };

  it.each([1, 2, 3, 4, 5])('two concurrent PUTs with the same ETag: exactly one wins (round %i)', async () => {
    const tag = await etag();
    const ids = [newRequestId('race-a'), newRequestId('race-b')];
    const bodies = [SEED_BODY, ONLY_FAIL];
    const results: Response[] = await Promise.all([put(ids[0], bodies[0], tag), put(ids[1], bodies[1], tag)]);

    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
    const winner = results.findIndex((r) => r.status === 200);
    const loser = 1 - winner;
    expect(results[loser].body.code).toBe('BFF.PRECONDITION_FAILED');
    // The winner's ETag is the configuration's new one, and differs from the one both sent.
    const newTag = results[winner].headers.etag;
    expect(newTag).toEqual(expect.any(String));
    expect(newTag).not.toBe(tag);
    expect(await etag()).toBe(newTag);
    // Only the winner's change reached SMN.
    const puts = (await emulatorRequests(suite.h.emulator)).filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.caller_request_id)).toEqual([ids[winner]]);

    const records = await recordsOf(storeOf(suite.h), ...ids);
    const recordOf = (i: number) => records.find((r) => r.request_id === ids[i]);
    expect(records).toHaveLength(2);
    expect(recordOf(winner)).toMatchObject({ outcome: 'succeeded', http_status: 200, requested: bodies[winner], before: [] });
    // The loser read the configuration under the lock, after the winner's write: its "before" is the winner's state.
    expect(recordOf(loser)).toMatchObject({ outcome: 'rejected', http_status: 412, error_code: 'BFF.PRECONDITION_FAILED', upstream_status: null });
    expect(byType(recordOf(loser)!.before as Array<{ event_type: string }>)).toEqual(byType(bodies[winner].callback));
  });

  it('applies If-Match: * and a current ETag; refuses a stale one with 412, audited as rejected', async () => {
    const star = newRequestId('if-match-star');
    const first = await put(star, ONLY_FAIL, '*').expect(200);

    const current = newRequestId('if-match-current');
    const second = await put(current, SEED_BODY, first.headers.etag).expect(200);
    expect(second.headers.etag).not.toBe(first.headers.etag);

    const stale = newRequestId('if-match-stale');
    // The ETag from before the second change; also in a list with another stale one.
    const res = await put(stale, ONLY_FAIL, `"nope", ${first.headers.etag}`).expect(412);
    expect(res.body.code).toBe('BFF.PRECONDITION_FAILED');
    expect(res.headers.etag).toBeUndefined();

    const records = await recordsOf(storeOf(suite.h), star, current, stale);
    expect(records.map((r) => [r.request_id, r.outcome, r.http_status, r.error_code])).toEqual([
      [star, 'succeeded', 200, null],
      [current, 'succeeded', 200, null],
      [stale, 'rejected', 412, 'BFF.PRECONDITION_FAILED'],
    ]);
    expect(byType(records[2].before as Array<{ event_type: string }>)).toEqual(byType(SEED_BODY.callback));
    expect((await emulatorRequests(suite.h.emulator)).filter((r) => r.method === 'PUT')).toHaveLength(2);
  });

  it('compares strongly: a weak ETag never matches', async () => {
    const weak = newRequestId('if-match-weak');
    await put(weak, SEED_BODY, `W/${await etag()}`).expect(412);
    expect((await recordsOf(storeOf(suite.h), weak)).map((r) => r.outcome)).toEqual(['rejected']);
  });

  // An empty If-Match is a list of no entity tags: it matches nothing (RFC 9110), it is not "no precondition".
  it('refuses an empty If-Match (a precondition that cannot hold) with 412', async () => {
    const id = newRequestId('if-match-empty');
    await put(id, SEED_BODY, '').expect(412);
    expect((await emulatorRequests(suite.h.emulator)).filter((r) => r.method === 'PUT')).toEqual([]);
  });
});
