import request from 'supertest';
import { CALLBACK_PATH, SEED_BODY } from '../support/bff-harness';
import { storeKinds, newRequestId, recordsOf, storeOf, auditHarnessPerSuite } from '../support/audit-backend';

const ANONYMOUS_LIMIT = 3;
const ATTEMPTS = 8;

/**
 * The audit's rule (README, Audit): "Unauthenticated attempts are recorded too, but the per-IP rate limit applies before the audit,
 * so nobody can flood the store without credentials."
 */
describe.each(storeKinds())('audit store cannot be flooded without credentials on %s', (kind) => {
  const suite = auditHarnessPerSuite(kind, { LOG_LEVEL: 'error', RATE_LIMIT_ANONYMOUS_LIMIT: String(ANONYMOUS_LIMIT) });

  it('records 401s until the per-IP budget is spent; the 429s after it are not recorded', async () => {
    const ids = Array.from({ length: ATTEMPTS }, (_, i) => newRequestId(`anon-${i}`));
    const statuses: number[] = [];
    for (const id of ids) statuses.push((await request(suite.h.url).put(CALLBACK_PATH).set('X-Request-Id', id).send(SEED_BODY)).status);

    expect(statuses).toEqual([...Array(ANONYMOUS_LIMIT).fill(401), ...Array(ATTEMPTS - ANONYMOUS_LIMIT).fill(429)]);
    const records = await recordsOf(storeOf(suite.h), ...ids);
    expect(records.map((r) => [r.request_id, r.outcome, r.http_status])).toEqual(ids.slice(0, ANONYMOUS_LIMIT).map((id) => [id, 'denied', 401]));
  });

  // PUTs refused while their body is read (415, 413, malformed JSON) never meet the guard; they are charged to
  // the source IP's budget by the audit hook, so without credentials nobody can write more records than it allows.
  it('does not record more unauthenticated attempts than the per-IP budget allows, whatever the body', async () => {
    const refusedWhileParsing = [
      { type: 'text/plain', body: 'x', status: 415 },
      { type: 'application/json', body: '{"callback": [', status: 400 },
      { type: 'application/json', body: JSON.stringify({ pad: 'x'.repeat(70 * 1024) }), status: 413 },
    ];
    const ids = Array.from({ length: ATTEMPTS }, (_, i) => newRequestId(`anon-unparsed-${i}`));
    for (const [i, id] of ids.entries()) {
      const { type, body, status } = refusedWhileParsing[i % refusedWhileParsing.length];
      const res = await request(suite.h.url).put(CALLBACK_PATH).set('X-Request-Id', id).set('Content-Type', type).send(body);
      expect([status, 429]).toContain(res.status);
    }
    expect((await recordsOf(storeOf(suite.h), ...ids)).length).toBeLessThanOrEqual(ANONYMOUS_LIMIT);
  });
});
