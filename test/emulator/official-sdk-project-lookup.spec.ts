// Test-only: the official core is a devDependency and must never be imported from src/.
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials';
import { HcClient } from '@huaweicloud/huaweicloud-sdk-core/HcClient';
import { DefaultHttpClient } from '@huaweicloud/huaweicloud-sdk-core/http/DefaultHttpClient';
import { Region } from '@huaweicloud/huaweicloud-sdk-core/region/region';
import { DEMO_CREDENTIALS, DEMO_PROJECT_ID, DEMO_REGION, RunningEmulator, startEmulator } from '../../src/emulator/emulator';

/**
 * The official Node core (3.1.211) as an AK/SK client that was given no project id: it signs
 * `GET /v3/projects?name=<region>` to the emulator's IAM, takes the one project listed, and signs
 * the SMN call with it. So the emulator's IAM answer and its verifier are both checked against the
 * real client, quirks included (it sends and signs a `{}` body with every GET).
 *
 * The client is assembled as the core's ClientBuilder does it, without the builder itself: its
 * default user agent needs `uuid`, which the core does not declare as a dependency.
 */

describe('the official SDK core finds its project through the emulator IAM', () => {
  let emu: RunningEmulator;

  beforeAll(async () => {
    emu = await startEmulator({ credentials: [DEMO_CREDENTIALS, { ak: 'EUKEY', sk: 'eu-secret' }] });
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.state.reset());

  function client(ak: string, sk: string, region: string): HcClient {
    const credentials = new BasicCredentials().withAk(ak).withSk(sk).withIamEndpoint(emu.url);
    const http = new DefaultHttpClient({ disableSslVerification: true, headers: {} }, [emu.url]);
    return new HcClient(http).withRegion(new Region(region, emu.url)).withCredential(credentials).withEndpoints([emu.url]);
  }

  const listCallbacks = (c: HcClient) =>
    c.sendRequest({
      method: 'GET',
      url: '/v2/{project_id}/notifications/sms/callback',
      contentType: 'application/json',
      queryParams: {},
      pathParams: {},
      headers: {},
      data: {},
    }) as Promise<{ httpStatusCode: number; callback: unknown[] }>;

  it('looks the project up by region name, then calls SMN with it', async () => {
    expect(await listCallbacks(client(DEMO_CREDENTIALS.ak, DEMO_CREDENTIALS.sk, DEMO_REGION))).toMatchObject({
      httpStatusCode: 200,
      callback: [],
    });

    const [lookup, call] = emu.state.requestLog.list();
    expect(lookup).toMatchObject({
      method: 'GET',
      url: `/v3/projects?name=${DEMO_REGION}`,
      status: 200,
      auth: { mode: 'aksk', access_key: DEMO_CREDENTIALS.ak },
    });
    expect(call).toMatchObject({
      path: `/v2/${DEMO_PROJECT_ID}/notifications/sms/callback`,
      status: 200,
      headers: expect.objectContaining({ 'x-project-id': DEMO_PROJECT_ID }),
    });
  });

  it('gets an empty list for a region without a project, and then cannot go on', async () => {
    // With no single match the core tries to create the project, which starts with GET /v3/regions.
    await expect(listCallbacks(client('EUKEY', 'eu-secret', 'eu-west-0'))).rejects.toThrow();
    const [lookup] = emu.state.requestLog.list();
    expect(lookup).toMatchObject({ url: '/v3/projects?name=eu-west-0', status: 200 });
    expect(emu.state.requestLog.list().some((e) => e.path.startsWith('/v2/'))).toBe(false);
  });
});
