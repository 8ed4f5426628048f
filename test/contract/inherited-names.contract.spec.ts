import { callbackPath, ContractApp, newRequestId, SEED_BODY, startContractApp } from './support/contract-app';

/** Every name an object inherits, `__proto__` and `prototype` (which Nest's pipe would drop): none may pass as a known property (README, API). */
const NAMES = [...new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__', 'prototype'])];

describe('names inherited from Object.prototype', () => {
  let app: ContractApp;
  beforeAll(async () => {
    app = await startContractApp();
  });
  afterAll(() => app?.close());

  const refused = (res: { statusCode: number; json(): unknown }, field: string) => {
    expect(res.statusCode).toBe(400);
    // `__proto__` is refused earlier still, by the JSON parser's prototype-poisoning rule.
    const errors = field.endsWith('__proto__') ? undefined : [{ field, message: 'is not a known property' }];
    expect(res.json()).toMatchObject({ code: 'BFF.VALIDATION_FAILED', ...(errors ? { errors } : {}) });
  };

  it.each(NAMES)('%s as a body key is refused, recorded once, and never reaches SMN', async (name) => {
    const id = newRequestId('body-key');
    const body = `{"callback":${JSON.stringify(SEED_BODY.callback)},${JSON.stringify(name)}:"x"}`;
    refused(await app.put(callbackPath(), body, { requestId: id }), name);
    expect(app.smn.callsOf(id)).toEqual([]);
    expect(app.recordsOf(id)).toEqual([expect.objectContaining({ outcome: 'invalid', http_status: 400 })]);
  });

  it.each(NAMES)('%s as a nested key is refused', async (name) => {
    const item = `{"event_type":"sms_fail_event","topic_urn":"",${JSON.stringify(name)}:1}`;
    refused(await app.put(callbackPath(), `{"callback":[${item}]}`), `callback[0].${name}`);
  });

  it.each(NAMES.filter((name) => name !== '__proto__'))('%s as a query parameter is refused', async (name) => {
    const id = newRequestId('query');
    refused(await app.get(`${callbackPath()}?${encodeURIComponent(name)}=1`, { requestId: id }), name);
    expect(app.smn.callsOf(id)).toEqual([]);
  });

  it('an over-long project id reaches authentication and validation, not the router', async () => {
    const path = `/v2/${'a'.repeat(150)}/notifications/sms/callback`;
    expect((await app.get(path, { key: null })).statusCode).toBe(401);
    const res = await app.get(path);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'BFF.VALIDATION_FAILED' });
    expect(JSON.stringify(res.json())).not.toContain('a'.repeat(150));
  });
});
