import axios, { AxiosInstance, CreateAxiosDefaults } from 'axios';
import { fork } from 'node:child_process';
import { Agent as HttpAgent, createServer } from 'node:http';
import { Agent, Request, Response, fetch } from 'undici';
import { createUndiciAxiosAdapter } from '../../src/http/undici-axios-adapter';

/**
 * `node dist/scripts/bench/axios-adapters.js`: client CPU per GET of three ways to run axios, the client API
 * of `@nestjs/axios` (docs/adr/0005): our adapter on undici's `dispatcher.request()`, axios's own fetch
 * adapter on undici's `fetch` (the same keep-alive pool), and axios's http adapter on a keep-alive
 * `node:http` agent. The server runs in a child process so that only the client's CPU is counted; the
 * first round warms up. Loopback only, 5 × 4000 requests per variant at 20 in flight.
 */
type AxiosEnv = NonNullable<CreateAxiosDefaults['env']>;

const REQUESTS = 4_000;
const IN_FLIGHT = 20;
const ROUNDS = 5;
const BODY = JSON.stringify({ request_id: 'r', callback: [{ event_type: 'sms_fail_event', topic_urn: 'urn:smn:cn-north-4:p:test_fail' }] });

if (process.argv[2] === 'server') {
  createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(BODY));
  }).listen(0, '127.0.0.1', function (this: import('node:net').Server) {
    process.send?.((this.address() as import('node:net').AddressInfo).port);
  });
} else {
  void main();
}

async function main(): Promise<void> {
  const server = fork(__filename, ['server']);
  const port = await new Promise<number>((resolve) => server.once('message', (m) => resolve(Number(m))));
  const url = `http://127.0.0.1:${port}/v2/p/notifications/sms/callback`;
  const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 4_000, pipelining: 1 });
  const variants: Record<string, AxiosInstance> = {
    'undici dispatcher.request (ours)': axios.create({
      adapter: createUndiciAxiosAdapter({ dispatcher, userAgent: 'bench', defaultTimeoutMs: 10_000 }),
      maxRedirects: 0,
    }),
    // undici's own Request/Response too: its fetch does not take the global (Node-bundled) ones. Cast: axios
    // types `env` with the DOM's fetch types, undici with its own.
    'axios fetch adapter, undici fetch': axios.create({
      adapter: 'fetch',
      env: { fetch, Request, Response } as unknown as AxiosEnv,
      fetchOptions: { dispatcher } as unknown as RequestInit,
      maxRedirects: 0,
    }),
    'axios http adapter, keep-alive': axios.create({ maxRedirects: 0, proxy: false, httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }) }),
  };
  const options = { responseType: 'text' as const, transformResponse: [(d: unknown) => d], validateStatus: () => true, timeout: 2_000 };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, client] of Object.entries(variants)) {
        const before = process.cpuUsage();
        let sent = 0;
        await Promise.all(
          Array.from({ length: IN_FLIGHT }, async () => {
            while (sent < REQUESTS) {
              sent++;
              if ((await client.get(url, options)).status !== 200) throw new Error(`${name}: not 200`);
            }
          }),
        );
        const cpu = process.cpuUsage(before);
        process.stdout.write(
          `${round === 0 ? 'warm-up' : `round ${round}`}\t${name.padEnd(36)}${Math.round((cpu.user + cpu.system) / REQUESTS)} µs CPU/request\n`,
        );
      }
    }
  } finally {
    server.kill();
    await dispatcher.close();
  }
}
