import { assertConformsToSpec, ReceivedResponse } from './openapi-conformance';

const PATH = '/v2/f96188c7ccaf4ffba0c9aa149ab2bd57/notifications/sms/callback';
const answer = (overrides: Partial<ReceivedResponse> & { body?: unknown }): ReceivedResponse => {
  const { body, ...rest } = overrides;
  return {
    method: 'GET',
    url: `http://127.0.0.1:1${PATH}`,
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'r-1', etag: '"abc"' },
    text: JSON.stringify(body ?? { request_id: 'r-1', callback: [{ event_type: 'sms_reply_event', topic_urn: '' }] }),
    ...rest,
  };
};
const envelope = { request_id: 'r-1', code: 'BFF.NOT_FOUND', message: 'No such route.' };

/** The check every suite's answers go through must itself refuse what the spec does not say. */
describe('openapi conformance check', () => {
  it('passes an answer the spec describes', () => {
    expect(() => assertConformsToSpec(answer({}))).not.toThrow();
  });

  it('refuses a field the spec does not name, a missing required field and a wrong type', () => {
    expect(() => assertConformsToSpec(answer({ body: { request_id: 'r-1', callback: [], extra: 1 } }))).toThrow(
      /must NOT have additional properties \(extra\)/,
    );
    expect(() => assertConformsToSpec(answer({ body: { callback: [] } }))).toThrow(/required property 'request_id'/);
    expect(() => assertConformsToSpec(answer({ body: { request_id: 1, callback: [] } }))).toThrow(/\/request_id must be string/);
  });

  it('refuses a status the operation does not document, and a missing required header', () => {
    expect(() => assertConformsToSpec(answer({ status: 418, body: envelope }))).toThrow(/status 418 is not documented for GET/);
    expect(() => assertConformsToSpec(answer({ headers: { 'content-type': 'application/json' } }))).toThrow(/required header X-Request-Id is missing/);
    expect(() =>
      assertConformsToSpec(
        answer({ status: 401, headers: { 'content-type': 'application/json', 'x-request-id': 'r-1' }, body: { ...envelope, code: 'BFF.UNAUTHENTICATED' } }),
      ),
    ).toThrow(/required header WWW-Authenticate is missing/);
  });

  it('checks errors on routes outside the spec against the envelope only', () => {
    const unknown = { method: 'DELETE', url: '/nowhere', headers: { 'content-type': 'application/json', 'x-request-id': 'r-1' } };
    expect(() => assertConformsToSpec(answer({ ...unknown, status: 404, body: envelope }))).not.toThrow();
    expect(() => assertConformsToSpec(answer({ ...unknown, status: 404, body: { error: 'Not Found' } }))).toThrow(/not the envelope/);
    expect(() => assertConformsToSpec(answer({ ...unknown, status: 200, body: { anything: true } }))).not.toThrow();
  });
});
