// Test-only: the official core is a devDependency and must never be imported from src/.
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials';
import { HcClient } from '@huaweicloud/huaweicloud-sdk-core/HcClient';
import { DefaultHttpClient } from '@huaweicloud/huaweicloud-sdk-core/http/DefaultHttpClient';
import { Region } from '@huaweicloud/huaweicloud-sdk-core/region/region';
import { DEMO_CREDENTIALS } from '../../src/emulator/emulator';
import { CALLBACK_PATH, Harness, PROJECT_ID, startHarness, urn } from '../support/bff-harness';
import { resetEmulator } from '../support/emulator-admin';
import { sendAsSdk, type Credentials, type SdkResponse } from '../support/smn-sdk-client';

/**
 * The SMN-client contract (README, caller AK/SK for SMN SDK users): a service that speaks SMN through a
 * legacy SDK switches to the BFF by changing its endpoint and keys, nothing else. Every case sends the same
 * request, shaped as the SDKs send it and signed by the official signer, once to the SMN emulator (with its
 * credentials) and once to the BFF (with a BFF-issued access key), from the same starting state, and expects
 * the same status, code, message and body shape from both. The BFF adds only what its envelope may add
 * (`errors`, `upstream`).
 */

const OTHER_PROJECT = '0123456789abcdef0123456789abcdef';
const SDK_KEY = {
  name: 'legacy-sdk-service',
  access_key_id: 'BFFSDKCLIENT00000001',
  secret: 'sdk-client-secret-0123456789abcdefghijklmnopqrstuvwxyz',
  scopes: ['sms-callback:read', 'sms-callback:write'],
  projects: [PROJECT_ID],
};

type Json = Record<string, unknown>;
const item = (event_type: unknown, topic_urn: unknown) => ({ event_type, topic_urn });
/** The JSON text as each SDK's encoder writes it. */
const compact = (body: Json) => JSON.stringify(body);
/** smn-sdk-python sends `json.dumps(body)`: `", "` and `": "` separators (docs/upstream-smn.md §3). */
const pythonSpacing = (body: Json) => JSON.stringify(body).replace(/","/g, '", "').replace(/":/g, '": ').replace(/},{/g, '}, {');

const SEED = {
  callback: [item('sms_reply_event', urn('test_reply')), item('sms_fail_event', urn('test_fail')), item('sms_success_event', urn('test_success'))],
};

interface Call {
  method: 'GET' | 'PUT';
  query?: string;
  body?: string;
}
const list = (query = ''): Call => ({ method: 'GET', query });
const update = (body: Json, encode = compact): Call => ({ method: 'PUT', body: encode(body) });

interface Case {
  name: string;
  /** Sent first, through the same target. */
  before?: Call[];
  call: Call;
  status: number;
  /** SMN's code for errors. */
  code?: string;
}

const CASES: Case[] = [
  { name: 'ListSmsEvent, nothing configured', call: list(), status: 200 },
  { name: 'ListSmsEvent after an update', before: [update(SEED)], call: list(), status: 200 },
  { name: 'ListSmsEvent filtered by event type', before: [update(SEED)], call: list('?event_type=sms_reply_event'), status: 200 },
  { name: 'ListSmsEvent with a bare "?" (Go SDK)', before: [update(SEED)], call: list('?'), status: 200 },
  { name: 'UpdateSmsEvent, compact JSON (Go, Java, PHP)', call: update(SEED), status: 200 },
  { name: "UpdateSmsEvent, Python's spacing", call: update(SEED, pythonSpacing), status: 200 },
  { name: 'UpdateSmsEvent removing a callback with ""', before: [update(SEED)], call: update({ callback: [item('sms_fail_event', '')] }), status: 200 },
  { name: 'ListSmsEvent after a removal', before: [update(SEED), update({ callback: [item('sms_fail_event', '')] })], call: list(), status: 200 },

  { name: 'ListSmsEvent with an unknown event type', call: list('?event_type=sms_bogus_event'), status: 400, code: 'SMN.0100' },
  { name: 'UpdateSmsEvent with an unknown event type', call: update({ callback: [item('sms_bogus_event', '')] }), status: 400, code: 'SMN.0100' },
  { name: 'an event type in the wrong case', call: update({ callback: [item('SMS_FAIL_EVENT', '')] }, pythonSpacing), status: 400, code: 'SMN.0100' },
  { name: 'a malformed fail-event URN', call: update({ callback: [item('sms_fail_event', 'urn:smn:cn-north-4:nothex:t')] }), status: 400, code: 'SMN.0140' },
  { name: 'a malformed success-event URN', call: update({ callback: [item('sms_success_event', 'topic')] }), status: 400, code: 'SMN.0142' },
  { name: 'a malformed reply-event URN', call: update({ callback: [item('sms_reply_event', urn('-t'))] }, pythonSpacing), status: 400, code: 'SMN.0144' },
  { name: 'a URN that is not a string', call: update({ callback: [item('sms_fail_event', 7)] }), status: 400, code: 'SMN.0140' },
  { name: 'a URN of another project', call: update({ callback: [item('sms_reply_event', urn('test_reply', OTHER_PROJECT))] }), status: 400, code: 'SMN.0144' },
  {
    name: 'a URN of another region',
    call: update({ callback: [item('sms_success_event', urn('test_success', PROJECT_ID, 'eu-west-0'))] }),
    status: 400,
    code: 'SMN.0142',
  },
  {
    name: 'a bad URN after a good item: the first bad item decides',
    call: update({ callback: [item('sms_reply_event', urn('test_reply')), item('sms_fail_event', urn('x', OTHER_PROJECT))] }),
    status: 400,
    code: 'SMN.0140',
  },
  { name: 'an unknown fail-event topic', call: update({ callback: [item('sms_fail_event', urn('no_such_topic'))] }), status: 400, code: 'SMN.0141' },
  { name: 'an unknown success-event topic', call: update({ callback: [item('sms_success_event', urn('no_such_topic'))] }), status: 400, code: 'SMN.0143' },
  {
    name: 'an unknown reply-event topic',
    call: update({ callback: [item('sms_reply_event', urn('no_such_topic'))] }, pythonSpacing),
    status: 400,
    code: 'SMN.0145',
  },
];

/** What the BFF's envelope may add to an SMN error body (README, Errors). */
const ENVELOPE_EXTRAS = new Set(['errors', 'upstream']);

const shape = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(shape)
    : value && typeof value === 'object'
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((key) => [key, shape((value as Json)[key])]),
        )
      : typeof value;

const byType = (items: unknown) => [...(items as Array<{ event_type: string }>)].sort((a, b) => a.event_type.localeCompare(b.event_type));

describe('SMN clients: the same answers from the SMN emulator and from the BFF', () => {
  let h: Harness;
  const bff: Credentials = { ak: SDK_KEY.access_key_id, sk: SDK_KEY.secret };

  beforeAll(async () => {
    h = await startHarness({ AUTH_ACCESS_KEYS: JSON.stringify([SDK_KEY]) });
  });
  afterAll(() => h.close());

  const send = (base: string, credentials: Credentials, call: Call): Promise<SdkResponse> =>
    sendAsSdk({ method: call.method, url: `${base}${CALLBACK_PATH}${call.query ?? ''}`, projectId: PROJECT_ID, body: call.body }, credentials);

  /** From the seed state, the setup calls and then the case's call, all through one target. */
  async function run(base: string, credentials: Credentials, c: Case): Promise<SdkResponse> {
    await resetEmulator(h.emulator);
    for (const call of c.before ?? []) expect((await send(base, credentials, call)).status).toBe(200);
    return send(base, credentials, c.call);
  }

  it.each(CASES.map((c) => [`${c.name}: ${c.status}${c.code ? ` ${c.code}` : ''}`, c] as const))('%s', async (_title, c) => {
    const smn = await run(h.emulator.url, DEMO_CREDENTIALS, c);
    const viaBff = await run(h.url, bff, c);

    expect(smn.status).toBe(c.status);
    expect(viaBff.status).toBe(c.status);
    expect(smn.body.request_id).toMatch(/^[0-9a-f]{32}$/);
    expect(viaBff.body.request_id).toMatch(/^[0-9a-f]{32}$/);
    if (c.code) {
      expect({ code: smn.body.code, message: smn.body.message }).toEqual({ code: c.code, message: expect.any(String) });
      expect({ code: viaBff.body.code, message: viaBff.body.message }).toEqual({ code: c.code, message: smn.body.message });
      const core = Object.fromEntries(Object.entries(viaBff.body).filter(([key]) => !ENVELOPE_EXTRAS.has(key)));
      expect(shape(core)).toEqual(shape(smn.body));
    } else {
      expect(shape(viaBff.body)).toEqual(shape(smn.body));
      if ('callback' in smn.body) expect(byType(viaBff.body.callback)).toEqual(byType(smn.body.callback));
    }
  });

  // Rules SMN publishes no code for (the emulator answers its own SMN.9999): the same status, the BFF's own code.
  it.each([
    ['an empty callback list', { callback: [] }],
    ['an event type twice', { callback: [item('sms_fail_event', ''), item('sms_fail_event', urn('test_fail'))] }],
  ])('%s: 400 from both, BFF.VALIDATION_FAILED from the BFF', async (_name, body) => {
    const c: Case = { name: '', call: update(body), status: 400 };
    const smn = await run(h.emulator.url, DEMO_CREDENTIALS, c);
    const viaBff = await run(h.url, bff, c);
    expect([smn.status, smn.body.code]).toEqual([400, 'SMN.9999']);
    expect([viaBff.status, viaBff.body.code]).toEqual([400, 'BFF.VALIDATION_FAILED']);
  });

  it('names the key in the audit and never writes its secret to a log', async () => {
    await resetEmulator(h.emulator);
    expect((await send(h.url, bff, update(SEED))).status).toBe(200);
    const records = h.logs.filter((line) => line.msg === 'audit record').map((line) => line.audit as Json);
    expect(records.at(-1)).toMatchObject({ actor_kind: 'access-key', actor_subject: SDK_KEY.name, outcome: 'succeeded' });
    expect(JSON.stringify(h.logs)).not.toContain(SDK_KEY.secret);
  });

  describe("the official Node core's own client (HcClient), pointed at either", () => {
    /** Assembled as in test/emulator/official-sdk-project-lookup.spec.ts, given the project id. */
    function client(base: string, credentials: Credentials): HcClient {
      const basic = new BasicCredentials().withAk(credentials.ak).withSk(credentials.sk).withProjectId(PROJECT_ID);
      const http = new DefaultHttpClient({ disableSslVerification: true, headers: {} }, [base]);
      return new HcClient(http).withRegion(new Region('cn-north-4', base)).withCredential(basic).withEndpoints([base]);
    }
    const call = (c: HcClient, method: 'GET' | 'PUT', data: Json, queryParams: Json = {}) =>
      (
        c.sendRequest({
          method,
          url: '/v2/{project_id}/notifications/sms/callback',
          contentType: 'application/json',
          queryParams,
          pathParams: {},
          headers: {},
          data,
        }) as Promise<Json>
      ).catch((error: Json) => error);

    it.each([
      ['ListSmsEvent (the core signs a {} body with every GET)', 'GET', {}, {}],
      ['ListSmsEvent filtered', 'GET', {}, { event_type: 'sms_reply_event' }],
      ['UpdateSmsEvent', 'PUT', SEED, {}],
      ['UpdateSmsEvent with an unknown event type', 'PUT', { callback: [item('sms_bogus_event', '')] }, {}],
      ['UpdateSmsEvent with an unknown topic', 'PUT', { callback: [item('sms_fail_event', urn('no_such_topic'))] }, {}],
    ] as const)('%s', async (_name, method, data, query) => {
      const answers: Json[] = [];
      for (const [base, credentials] of [
        [h.emulator.url, DEMO_CREDENTIALS],
        [h.url, bff],
      ] as const) {
        await resetEmulator(h.emulator);
        answers.push(await call(client(base, credentials), method, data, query));
      }
      const [smn, viaBff] = answers;
      expect(viaBff.httpStatusCode).toBe(smn.httpStatusCode);
      // The core reads no SMN code from an error body (docs/upstream-smn.md §5): status and request id are what it sees.
      expect(shape({ ...viaBff, requestId: viaBff.requestId ?? viaBff.request_id })).toEqual(shape({ ...smn, requestId: smn.requestId ?? smn.request_id }));
    });
  });

  it('refuses, as SMN does, a request signed with the wrong secret: 401 from both', async () => {
    const smn = await send(h.emulator.url, { ...DEMO_CREDENTIALS, sk: 'wrong' }, list());
    const viaBff = await send(h.url, { ...bff, sk: 'wrong' }, list());
    expect([smn.status, viaBff.status]).toEqual([401, 401]);
    expect(viaBff.body.code).toBe('BFF.UNAUTHENTICATED');
  });
});
