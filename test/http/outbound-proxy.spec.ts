import pino from 'pino';
import type { AxiosError } from 'axios';
import type { FlattenedJWSInput } from 'jose';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JwksClient } from '../../src/auth/jwks.client';
import { loadConfig } from '../../src/config/load-config';
import { HttpConnectionError } from '../../src/http/outbound-http.errors';
import type { OutboundProxyConfig } from '../../src/http/outbound-http.options';
import { OutboundTransport } from '../../src/http/outbound-transport';
import { JwksServer, testKey } from '../auth/support/jwks-server';
import { CALLBACK_PATH, startHarness } from '../support/bff-harness';
import { ConnectProxy, startConnectProxy } from '../support/connect-proxy';
import { emulatorRequests } from '../support/emulator-admin';

const PROXY_VARIABLES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'];

/** HTTP_PROXY / HTTPS_PROXY / NO_PROXY, proven against a CONNECT proxy on loopback. */
describe('outbound requests behind a proxy', () => {
  let target: Server;
  let targetUrl: string;
  let targetPort: number;
  const targetSaw: IncomingHttpHeaders[] = [];
  let proxy: ConnectProxy;
  let otherProxy: ConnectProxy;
  const transports: OutboundTransport[] = [];
  const savedEnv: Record<string, string | undefined> = {};

  const transport = (proxyConfig?: OutboundProxyConfig) => {
    const t = new OutboundTransport({ proxy: proxyConfig, defaultTimeoutMs: 2_000 });
    transports.push(t);
    return t;
  };
  const get = (t: OutboundTransport, url: string) => t.http.axiosRef.get<string>(url, { responseType: 'text', validateStatus: () => true });

  beforeAll(async () => {
    target = createServer((req, res) => {
      targetSaw.push(req.headers);
      res.end('direct from the target');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetPort = (target.address() as AddressInfo).port;
    targetUrl = `http://127.0.0.1:${targetPort}/thing`;
    for (const name of PROXY_VARIABLES) savedEnv[name] = process.env[name];
  });

  afterAll(async () => {
    target.closeAllConnections();
    await new Promise<void>((resolve) => target.close(() => resolve()));
  });

  beforeEach(async () => {
    targetSaw.length = 0;
    proxy = await startConnectProxy();
    otherProxy = await startConnectProxy();
  });

  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
    await proxy.close();
    await otherProxy.close();
    for (const name of PROXY_VARIABLES) {
      if (savedEnv[name] === undefined) delete process.env[name];
      else process.env[name] = savedEnv[name];
    }
  });

  describe('the transport', () => {
    it('goes through httpProxy: a CONNECT tunnel to the target, which answers', async () => {
      const response = await get(transport({ httpProxy: proxy.url }), targetUrl);
      expect(response.data).toBe('direct from the target');
      expect(proxy.tunnels.map((t) => t.target)).toEqual([`127.0.0.1:${targetPort}`]);
    });

    it('sends the credentials of the proxy URL to the proxy only', async () => {
      await get(transport({ httpProxy: proxy.url.replace('http://', 'http://bff:p%40ss@') }), targetUrl);
      expect(proxy.tunnels[0].proxyAuthorization).toBe(`Basic ${Buffer.from('bff:p@ss').toString('base64')}`);
      expect(targetSaw[0]['proxy-authorization']).toBeUndefined();
    });

    it('goes direct to hosts in noProxy', async () => {
      const response = await get(transport({ httpProxy: proxy.url, noProxy: 'example.com, 127.0.0.1' }), targetUrl);
      expect(response.data).toBe('direct from the target');
      expect(proxy.tunnels).toEqual([]);
    });

    it('sends https:// targets to httpsProxy, and to httpProxy when httpsProxy is unset', async () => {
      const smn = 'https://smn.cn-north-4.example.invalid/v2/p/notifications/sms/callback';
      const split = await get(transport({ httpProxy: proxy.url, httpsProxy: otherProxy.url }), smn).catch((e: unknown) => e);
      expect(otherProxy.tunnels.map((t) => t.target)).toEqual(['smn.cn-north-4.example.invalid:443']);
      expect(proxy.tunnels).toEqual([]);
      // The test proxy opens tunnels to loopback only: a refused tunnel means the request was never sent.
      expect(split).toBeInstanceOf(HttpConnectionError);
      expect(split).toMatchObject({ code: 'ERR_PROXY_TUNNEL', neverSent: true });

      await get(transport({ httpProxy: proxy.url }), smn).catch(() => undefined);
      expect(proxy.tunnels.map((t) => t.target)).toEqual(['smn.cn-north-4.example.invalid:443']);
    });

    it('a proxy that refuses the tunnel, or cannot be reached, fails as never sent', async () => {
      proxy.refuseWith = 403;
      const refused = await get(transport({ httpProxy: proxy.url }), targetUrl).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'ERR_PROXY_TUNNEL', neverSent: true });
      expect(targetSaw).toHaveLength(0);

      const url = proxy.url;
      await proxy.close();
      const down = await get(transport({ httpProxy: url }), targetUrl).catch((e: unknown) => e);
      expect(down).toBeInstanceOf(HttpConnectionError);
      expect((down as AxiosError).code).toBe('ECONNREFUSED');
      expect(down).toMatchObject({ neverSent: true });
    });

    it('never reads the proxy variables from the environment itself', async () => {
      process.env.HTTP_PROXY = process.env.http_proxy = proxy.url;
      expect((await get(transport(), targetUrl)).data).toBe('direct from the target');
      expect(proxy.tunnels).toEqual([]);

      process.env.NO_PROXY = process.env.no_proxy = '127.0.0.1';
      await get(transport({ httpProxy: otherProxy.url }), targetUrl);
      expect(otherProxy.tunnels).toHaveLength(1);
    });

    it('fetches the JWKS through it', async () => {
      const jwks = new JwksServer();
      const key = await testKey('ES256', 'k1');
      jwks.keys = [key.jwk];
      const url = await jwks.start();
      try {
        const client = new JwksClient(
          new URL(url),
          { cooldownMs: 0, timeoutMs: 1_000, maxAgeMs: 60_000 },
          transport({ httpProxy: proxy.url }).http,
          pino({ level: 'silent' }),
        );
        await expect(client.getKey({ alg: 'ES256', kid: 'k1' }, {} as FlattenedJWSInput)).resolves.toBeDefined();
        expect(jwks.fetches).toBe(1);
        expect(proxy.tunnels.map((t) => t.target)).toEqual([new URL(url).host]);
      } finally {
        await jwks.stop();
      }
    });
  });

  describe('configuration', () => {
    it('reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY, lower case first; none set means direct', () => {
      expect(loadConfig({}).http.outboundProxy).toBeUndefined();
      expect(loadConfig({ NO_PROXY: 'x', HTTP_PROXY: '' }).http.outboundProxy).toBeUndefined();
      expect(loadConfig({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '.internal' }).http.outboundProxy).toEqual({
        httpProxy: undefined,
        httpsProxy: 'http://proxy:3128',
        noProxy: '.internal',
      });
      expect(loadConfig({ HTTP_PROXY: 'http://upper:1', http_proxy: 'http://lower:2', no_proxy: 'a', NO_PROXY: 'b' }).http.outboundProxy).toMatchObject({
        httpProxy: 'http://lower:2',
        noProxy: 'a',
      });
    });

    it('refuses a proxy that is not an http(s) URL', () => {
      expect(() => loadConfig({ HTTPS_PROXY: 'socks5://proxy:1080' })).toThrow(/HTTPS_PROXY/);
      expect(() => loadConfig({ HTTP_PROXY: 'proxy:3128' })).toThrow(/HTTP_PROXY/);
    });
  });

  describe('the BFF', () => {
    it('calls SMN and IAM through HTTP_PROXY, and directly for NO_PROXY hosts', async () => {
      const h = await startHarness({ LOG_LEVEL: 'warn', SMN_AUTH_MODE: 'token', HTTP_PROXY: proxy.url });
      try {
        await h.api.get(CALLBACK_PATH).expect(200);
        const emulator = new URL(h.emulator.url).host;
        // IAM and SMN are the emulator here: the IAM token request and the SMN call, each through a tunnel to it
        // (one tunnel per pooled connection), and nothing reached the emulator any other way.
        const tunnels = proxy.tunnels.map((t) => t.target);
        expect(tunnels.length).toBeGreaterThanOrEqual(1);
        expect(new Set(tunnels)).toEqual(new Set([emulator]));
        const reached = await emulatorRequests(h.emulator);
        expect(reached.map((r) => r.path.split('/')[1])).toEqual(['v3', 'v2']);
      } finally {
        await h.close();
      }

      const direct = await startHarness({ LOG_LEVEL: 'warn', HTTP_PROXY: otherProxy.url, NO_PROXY: '127.0.0.1' });
      try {
        await direct.api.get(CALLBACK_PATH).expect(200);
        expect(otherProxy.tunnels).toEqual([]);
      } finally {
        await direct.close();
      }
    });
  });
});
