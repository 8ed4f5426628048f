import request from 'supertest';
import type { AuditRecord } from '../../src/audit/audit.types';
import { Scope } from '../../src/auth/caller';
import { Harness, PROJECT_ID, REGION, SEED_BODY, startHarness, urn } from '../support/bff-harness';
import { apiKey, apiKeysEnv, AuditBackend, storeKinds, createBackend, newRequestId, recordsOf, storeOf, TestApiKey } from '../support/audit-backend';

const PROJECT_B = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const TOPICS = ['test_reply', 'test_fail', 'test_success'];
const pathOf = (project: string) => `/v2/${project}/notifications/sms/callback`;

const KEYS = {
  writer: apiKey('ops-writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], '*'),
  writerB: apiKey('project-b-writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], [PROJECT_B]),
  readOnly: apiKey('read-only', [Scope.SmsCallbackRead], '*'),
  auditor: apiKey('auditor', [Scope.AuditRead], '*'),
  auditorA: apiKey('auditor-a', [Scope.AuditRead], [PROJECT_ID]),
};

/** `GET /audit/events` (README, API): filters, newest first, cursor paging, project isolation. */
describe.each(storeKinds())('audit query API on %s', (kind) => {
  let backend: AuditBackend;
  let h: Harness;
  /** Every record in the (fresh) store, oldest first. */
  let all: AuditRecord[];

  const put = (key: TestApiKey | null, project: string, body: unknown) => {
    const req = request(h.url).put(pathOf(project)).set('X-Request-Id', newRequestId('q'));
    return (key ? req.set('X-Api-Key', key.key) : req).send(body as object);
  };
  const fail = (project: string) => ({ callback: [{ event_type: 'sms_fail_event', topic_urn: urn('test_fail', project) }] });
  const events = (key: TestApiKey | null, query: Record<string, string | number>) => {
    const req = request(h.url).get('/audit/events').query(query);
    return key ? req.set('X-Api-Key', key.key) : req;
  };
  const newestFirst = (records: AuditRecord[]) => [...records].sort((a, b) => b.seq - a.seq);

  /** Follows next_cursor to the end, checking each page's size. */
  async function allPages(key: TestApiKey, query: Record<string, string | number>, limit: number, between?: () => Promise<void>): Promise<AuditRecord[]> {
    const items: AuditRecord[] = [];
    let cursor: string | null = null;
    do {
      const page: Record<string, string | number> = cursor ? { ...query, limit, cursor } : { ...query, limit };
      const body = (await events(key, page).expect(200)).body as { items: AuditRecord[]; next_cursor: string | null };
      expect(body.items.length).toBeLessThanOrEqual(limit);
      if (body.next_cursor) expect(body.items).toHaveLength(limit);
      items.push(...body.items);
      cursor = body.next_cursor;
      await between?.();
    } while (cursor);
    return items;
  }

  beforeAll(async () => {
    backend = await createBackend(kind);
    h = await startHarness(
      backend.harnessEnv({ LOG_LEVEL: 'warn', SMN_PROJECTS: `${PROJECT_ID}=${REGION},${PROJECT_B}=${REGION}`, AUTH_API_KEYS: apiKeysEnv(Object.values(KEYS)) }),
      {
        projects: [
          { projectId: PROJECT_ID, region: REGION, topics: TOPICS },
          { projectId: PROJECT_B, region: REGION, topics: TOPICS },
        ],
      },
    );
    // 25 attempts of several actors, projects and outcomes, interleaved.
    for (let i = 0; i < 4; i++) {
      await put(KEYS.writer, PROJECT_ID, SEED_BODY).expect(200);
      await put(KEYS.writer, PROJECT_B, fail(PROJECT_B)).expect(200);
      await put(KEYS.writerB, PROJECT_B, fail(PROJECT_B)).expect(200);
      await put(KEYS.writerB, PROJECT_ID, SEED_BODY).expect(403);
    }
    await put(KEYS.writer, PROJECT_ID, { callback: [{ event_type: 'sms_fail_event', topic_urn: urn('missing') }] }).expect(400);
    await put(KEYS.writer, PROJECT_ID, { callback: [] }).expect(400);
    await put(KEYS.readOnly, PROJECT_ID, SEED_BODY).expect(403);
    await put(KEYS.readOnly, PROJECT_B, SEED_BODY).expect(403);
    await put(null, PROJECT_ID, SEED_BODY).expect(401);
    await put(KEYS.writer, PROJECT_ID, fail(PROJECT_ID)).expect(200);
    await put(KEYS.writerB, PROJECT_B, SEED_BODY).expect(400); // topics of another project
    await put(KEYS.writer, PROJECT_B, fail(PROJECT_B)).expect(200);
    await put(KEYS.writer, PROJECT_ID, SEED_BODY).expect(200);

    all = [];
    for await (const record of storeOf(h).readChain()) all.push(record);
    expect(all).toHaveLength(25);
  });
  afterAll(async () => {
    await h?.close();
    await backend?.teardown();
  });

  it('lists every record newest first, 50 by default, with no next page', async () => {
    const { body } = await events(KEYS.auditor, {}).expect(200);
    expect(body).toEqual({ items: newestFirst(all), next_cursor: null });
  });

  it.each([
    ['project_id', { project_id: PROJECT_B }, (r: AuditRecord) => r.project_id === PROJECT_B],
    ['actor', { actor: 'project-b-writer' }, (r: AuditRecord) => r.actor_subject === 'project-b-writer'],
    ['outcome', { outcome: 'denied' }, (r: AuditRecord) => r.outcome === 'denied'],
    [
      'all three at once',
      { project_id: PROJECT_ID, actor: 'ops-writer', outcome: 'succeeded' },
      (r: AuditRecord) => r.project_id === PROJECT_ID && r.actor_subject === 'ops-writer' && r.outcome === 'succeeded',
    ],
  ])('filters by %s', async (_label, query, matches) => {
    const expected = newestFirst(all.filter(matches));
    expect(expected.length).toBeGreaterThan(1);
    expect(expected.length).toBeLessThan(all.length);
    expect((await events(KEYS.auditor, { ...query, limit: 200 }).expect(200)).body.items).toEqual(expected);
  });

  it('filters by time: from inclusive, to exclusive (recorded_at)', async () => {
    const from = all[5].recorded_at;
    const to = all[17].recorded_at;
    const expected = newestFirst(all.filter((r) => r.recorded_at >= from && r.recorded_at < to));
    expect(expected.length).toBeGreaterThan(5);
    expect((await events(KEYS.auditor, { from, to, limit: 200 }).expect(200)).body.items).toEqual(expected);
    expect((await events(KEYS.auditor, { from: all[24].recorded_at }).expect(200)).body.items.map((r: AuditRecord) => r.seq)).toContain(25);
    expect((await events(KEYS.auditor, { to: all[0].recorded_at }).expect(200)).body.items).toEqual([]);
  });

  it('pages a filtered listing the same way', async () => {
    const expected = newestFirst(all.filter((r) => r.project_id === PROJECT_ID));
    expect(await allPages(KEYS.auditor, { project_id: PROJECT_ID }, 3)).toEqual(expected);
  });

  describe('project isolation', () => {
    it('a caller with access to project A only must name it', async () => {
      const { body } = await events(KEYS.auditorA, {}).expect(400);
      expect(body).toMatchObject({ code: 'BFF.VALIDATION_FAILED', errors: [expect.objectContaining({ field: 'project_id' })] });
    });

    it('may not see project B', async () => {
      expect((await events(KEYS.auditorA, { project_id: PROJECT_B }).expect(403)).body.code).toBe('BFF.FORBIDDEN');
    });

    it('sees all of A and nothing else', async () => {
      const { body } = await events(KEYS.auditorA, { project_id: PROJECT_ID, limit: 200 }).expect(200);
      expect(body.items).toEqual(newestFirst(all.filter((r) => r.project_id === PROJECT_ID)));
      expect(body.items.every((r: AuditRecord) => r.project_id === PROJECT_ID)).toBe(true);
    });

    it('needs the audit:read scope and credentials', async () => {
      expect((await events(KEYS.writer, {}).expect(403)).body.code).toBe('BFF.FORBIDDEN');
      expect((await events(null, {}).expect(401)).body.code).toBe('BFF.UNAUTHENTICATED');
    });
  });

  describe('validation', () => {
    it.each([
      ['limit above 200', { limit: 201 }, 'limit'],
      ['limit 0', { limit: 0 }, 'limit'],
      ['a cursor that was never issued', { cursor: 'not-a-cursor' }, 'cursor'],
      ['a cursor that decodes to no position', { cursor: Buffer.from('0').toString('base64url') }, 'cursor'],
      ['an unknown outcome', { outcome: 'maybe' }, 'outcome'],
      ['a from that is no date', { from: 'yesterday' }, 'from'],
      ['a project id that is not 32 lowercase hex', { project_id: PROJECT_ID.toUpperCase() }, 'project_id'],
    ])('refuses %s with 400', async (_label, query, field) => {
      const { body } = await events(KEYS.auditor, query).expect(400);
      expect(body.code).toBe('BFF.VALIDATION_FAILED');
      expect(body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });

    it('accepts limit 200', async () => {
      expect((await events(KEYS.auditor, { limit: 200 }).expect(200)).body.next_cursor).toBeNull();
    });
  });

  // Last: it appends records.
  it('pages with limit and next_cursor without gaps or repeats, even while records are appended', async () => {
    const appended: string[] = [];
    const items = await allPages(KEYS.auditor, {}, 7, async () => {
      const res = await put(KEYS.writer, PROJECT_ID, fail(PROJECT_ID)).expect(200);
      appended.push(res.headers['x-request-id']);
    });
    // What existed when paging started, exactly once each, newest first; newer records belong to a new listing.
    expect(items).toEqual(newestFirst(all));
    expect(appended).toHaveLength(4);
    expect(await recordsOf(storeOf(h), ...appended)).toHaveLength(4);
  });
});
