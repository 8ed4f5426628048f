import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';
import { Client } from 'pg';
import { DEMO_PROJECT } from '../src/config/load-config';
import { DEMO_CREDENTIALS } from '../src/emulator/emulator';
import { deployInit } from './deploy-init';

/**
 * `npm run stack`: the compose topology (docker-compose.yml) from local processes, for machines without
 * Docker — the SMN emulator, two BFF instances in production mode on PostgreSQL and Redis, and a
 * round-robin load balancer in front of them (a few lines of Node rather than nginx, so that nothing needs
 * installing). PostgreSQL and Redis are the ones already running (STACK_DATABASE_URL, STACK_REDIS_URL).
 * Prints the addresses and the operator's API key; Ctrl-C stops everything.
 */

/** The built server and emulator: dist/src, whether this runs built (dist/scripts) or from source (tests). */
const DIST = resolve(__dirname, __dirname.split(sep).includes('dist') ? '..' : join('..', 'dist'), 'src');

export interface StackOptions {
  /** The balancer's port (0: ephemeral). */
  port: number;
  databaseUrl: string;
  redisUrl: string;
  /** Secrets and the instances' data directories. */
  dir: string;
  /** Added to each instance's environment. */
  env?: Record<string, string>;
  /** Added to every process's environment, the emulator's too (tests mark their processes with it). */
  processEnv?: Record<string, string>;
}

export interface RunningStack {
  url: string;
  instances: string[];
  /** Each instance's metrics listener (`…/metrics`), in the order of `instances`. */
  metrics: string[];
  emulatorUrl: string;
  /** The operator's API key, when `dir` had none yet (deploy:init prints it only once). */
  apiKey?: string;
  /** Requests the balancer sent to each instance. */
  served: number[];
  stop(): Promise<void>;
}

/** A child process, resolved with the first match of `ready` in its output; rejected if it ends first. */
async function startProcess(script: string, env: Record<string, string | undefined>, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [join(DIST, script)], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const match = await new Promise<RegExpExecArray>((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = ready.exec(output);
      if (found) resolvePromise(found);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready:\n${output}`)));
  });
  return { child, match };
}

async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  url.pathname = '/postgres';
  url.search = '';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await admin.query(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
}

/** Round-robin over `targets`, as nginx's upstream block does, adding X-Forwarded-For. */
function balancer(targets: URL[], served: number[]): http.Server {
  const agent = new http.Agent({ keepAlive: true });
  let next = 0;
  return http.createServer((request, response) => {
    const index = next++ % targets.length;
    served[index]++;
    const target = targets[index];
    const forwardedFor = [request.headers['x-forwarded-for'], request.socket.remoteAddress].filter(Boolean).join(', ');
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, 'x-forwarded-for': forwardedFor },
        agent,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end('bad gateway\n');
    });
    request.pipe(upstream);
  });
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  await ensureDatabase(options.databaseUrl);
  mkdirSync(options.dir, { recursive: true });
  const { apiKey } = deployInit(options.dir);
  const children: ChildProcess[] = [];
  const stopChildren = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }),
    );
  };
  try {
    const emulator = await startProcess('emulator/main.js', { ...options.processEnv, PORT: '0', HOST: '127.0.0.1' }, /SMN emulator listening on (http:\S+)/);
    children.push(emulator.child);
    const emulatorUrl = emulator.match[1];
    const instanceEnv = (index: number): Record<string, string> => ({
      ...options.processEnv,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      // Two instances on one machine: each its own free port, read from its listening line.
      METRICS_PORT: '0',
      SMN_EMULATOR: 'false',
      SMN_PROJECTS: `${DEMO_PROJECT.id}=${DEMO_PROJECT.region}`,
      SMN_ENDPOINTS: `${DEMO_PROJECT.region}=${emulatorUrl}`,
      SMN_ACCESS_KEY: DEMO_CREDENTIALS.ak,
      SMN_SECRET_KEY: DEMO_CREDENTIALS.sk,
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      TRUSTED_PROXIES: '127.0.0.1',
      AUDIT_SIGNING_KEY_FILE: join(options.dir, 'audit-signing-key.pem'),
      AUTH_API_KEYS_FILE: join(options.dir, 'api-keys.json'),
      DATA_DIR: join(options.dir, `instance-${index}`),
      ...options.env,
    });
    const instances: string[] = [];
    const metrics: string[] = [];
    for (const index of [1, 2]) {
      const bff = await startProcess(
        'main.js',
        instanceEnv(index),
        /"url":"(http:[^"]+)"[^\n]*"metrics":"(http:[^"]+)"[^\n]*"msg":"sms-callback-bff listening"/,
      );
      children.push(bff.child);
      instances.push(bff.match[1]);
      metrics.push(bff.match[2]);
    }
    const served = instances.map(() => 0);
    const server = balancer(
      instances.map((url) => new URL(url)),
      served,
    );
    server.listen(options.port, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      instances,
      metrics,
      emulatorUrl,
      apiKey,
      served,
      stop: async () => {
        server.closeAllConnections();
        await new Promise<void>((done) => server.close(() => done()));
        await stopChildren();
      },
    };
  } catch (error) {
    await stopChildren();
    throw error;
  }
}

if (require.main === module) {
  const env = process.env;
  const dir = env.STACK_DIR ?? join('deploy', 'stack');
  startStack({
    port: Number(env.STACK_PORT ?? 3000),
    databaseUrl: env.STACK_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/sms_callback_bff_stack',
    redisUrl: env.STACK_REDIS_URL ?? 'redis://127.0.0.1:6379',
    dir,
  }).then(
    (stack) => {
      const lines = [
        `stack: load balancer ${stack.url} (round-robin over the two instances)`,
        ...stack.instances.map((url, i) => `  instance ${i + 1}: ${url} (docs directly here), metrics ${stack.metrics[i]}`),
        `  SMN emulator: ${stack.emulatorUrl}`,
        stack.apiKey
          ? `  API key (shown once; ${dir}/api-keys.json keeps its hash): ${stack.apiKey}`
          : `  API key: the one printed when ${dir} was first created`,
        `  try: curl -H "X-Api-Key: <key>" ${stack.url}/v2/${DEMO_PROJECT.id}/notifications/sms/callback`,
        'Ctrl-C stops everything.',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      const stop = () => void stack.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (error: Error) => {
      process.stderr.write(`stack: ${error.message}\n`);
      process.exit(1);
    },
  );
}
