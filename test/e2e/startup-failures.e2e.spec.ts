import { ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();
const dataDirs: string[] = [];

/** A temporary data directory of this suite's, removed after each test. */
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'startup-failure-'));
  dataDirs.push(dir);
  return dir;
}

/** The built server with `env`, outside the repository (no developer .env), until it exits. */
function runServer(env: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, [MAIN], {
    // Both ports ephemeral: a BFF on this machine may hold the defaults.
    env: { PATH: process.env.PATH, NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'info', DATA_DIR: dataDir(), ...env },
    cwd: tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    }),
  );
}

/** A port nobody listens on: bound, read, and closed again. */
async function closedPort(): Promise<number> {
  const server = await listening();
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function listening(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** The refusal is one line on stderr, not a stack, and is not also in the log. */
function expectOneLineRefusal(run: Run, message: RegExp): void {
  expect(run.code).toBe(1);
  expect(run.stderr.endsWith('\n')).toBe(true);
  expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stdout).not.toMatch(/"level":(50|60)/);
  expect(run.stdout).not.toContain('listening');
}

afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Every start-up failure is one clear line and exit 1 (README, Configuration). */
describe('start-up failures', () => {
  it('a port in use is refused before the emulator, the store or Nest start', async () => {
    const holder = await listening();
    try {
      const { port } = holder.address() as { port: number };
      const run = await runServer({ PORT: String(port) });
      expectOneLineRefusal(run, new RegExp(`^Port ${port} on 127\\.0\\.0\\.1 is already in use`));
      // Nothing slow ran first: the refusal comes before the app is built.
      expect(run.stdout).not.toContain('Starting Nest application');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('a metrics port in use is refused the same way, naming its own variables', async () => {
    const holder = await listening();
    try {
      const { port } = holder.address() as { port: number };
      const run = await runServer({ METRICS_PORT: String(port) });
      expectOneLineRefusal(run, new RegExp(`^Port ${port} on 127\\.0\\.0\\.1 is already in use \\(METRICS_PORT, METRICS_HOST\\): `));
      expect(run.stdout).not.toContain('Starting Nest application');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('a metrics address that is not one of this machine', async () => {
    const run = await runServer({ METRICS_HOST: '192.0.2.1' });
    expectOneLineRefusal(run, /^METRICS_HOST 192\.0\.2\.1 is not an address of this machine/);
  });

  it('an audit signing key that is no PEM private key', async () => {
    const run = await runServer({ AUDIT_SIGNING_KEY: '-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----\n' });
    expectOneLineRefusal(run, /^The audit signing key \(AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE\) is not a readable private key/);
  });

  it('an audit signing key of another algorithm', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const run = await runServer({ AUDIT_SIGNING_KEY: ec });
    expectOneLineRefusal(run, /must be an Ed25519 private key, got ec\.$/);
  });

  it('a data directory another live process holds', async () => {
    const dir = dataDir();
    mkdirSync(join(dir, 'audit'), { recursive: true });
    // This test process is alive and is not the server: its pid in the lock is a live owner.
    writeFileSync(join(dir, 'audit', 'audit.lock'), `${JSON.stringify({ pid: process.pid, host: 'test', since: new Date().toISOString() })}\n`);
    const run = await runServer({ DATA_DIR: dir });
    expectOneLineRefusal(run, new RegExp(`^The audit data directory .* is already in use by pid ${process.pid}`));
  });

  it('an unreachable database, named without its password', async () => {
    const port = await closedPort();
    const run = await runServer({ DATABASE_URL: `postgres://bff:secret-password-marker@127.0.0.1:${port}/audit_test` });
    expectOneLineRefusal(run, new RegExp(`^The audit database postgres://127\\.0\\.0\\.1:${port}/audit_test \\(DATABASE_URL\\) cannot be reached`));
    expect(run.stderr + run.stdout).not.toContain('secret-password-marker');
  });
});

describe('a good start', () => {
  it('prints the banner once, last, after the server listens', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'info', DATA_DIR: dataDir() },
      cwd: tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/audit\/events\?project_id=[0-9a-f]{32}'\n\n$/.test(stdout)) resolve();
      });
      void exited.then((code) => reject(new Error(`exited (${code}) before the banner:\n${stdout}`)));
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    children.delete(child);

    const banner = stdout.indexOf('  Swagger UI:');
    expect(stdout.indexOf('  Swagger UI:', banner + 1)).toBe(-1);
    expect(stdout.indexOf('"msg":"sms-callback-bff listening"')).toBeGreaterThan(-1);
    expect(stdout.indexOf('"msg":"sms-callback-bff listening"')).toBeLessThan(banner);
    // It names the metrics listener (a port of its own).
    const metrics = /^ {2}Metrics: +(http:\/\/127\.0\.0\.1:\d+\/metrics) /m.exec(stdout.slice(banner))?.[1];
    expect(metrics).toEqual(expect.any(String));
    // Nothing but the shutdown lines after it.
    const after = stdout
      .slice(banner)
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(after.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['shutting down', 'shut down cleanly']);
  });
});
