import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedPgliteDir } from './audit-databases';
import { scrapeMetrics } from './metrics-scrape';
import { childEnv } from './test-run';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

export interface ChildBff {
  url: string;
  /** `GET /metrics` on the child's metrics listener (from its listening line); undefined with METRICS_PORT=off. */
  metricsUrl?: string;
  /** The metrics text, scraped from the metrics listener (fails unless it answers 200). */
  scrape(): Promise<string>;
  process: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves once the output contains `text` (listening for it, not polling); fails after `timeoutMs`. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or the signal name) when the process has ended and its output is read. */
  exited: Promise<number | string>;
}

/**
 * The built server (`dist/src/main.js`, as `npm start` runs it) in a child process, for tests that send it
 * signals or kill it. `npm test` builds first (pretest).
 */
export async function startChildBff(env: Record<string, string>): Promise<ChildBff> {
  // Never ./data: a child without a data directory of its test's gets a temporary one, removed when it exits.
  const ownDataDir = env.DATA_DIR === undefined ? mkdtempSync(join(tmpdir(), 'child-bff-')) : undefined;
  if (ownDataDir && !env.DATABASE_URL) seedPgliteDir(join(ownDataDir, 'audit'));
  const child = spawn(process.execPath, [MAIN], {
    // Both ports ephemeral: suites run side by side, and a BFF on this machine may hold the defaults.
    env: childEnv({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      ...(ownDataDir ? { DATA_DIR: ownDataDir } : {}),
      ...env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (ownDataDir) child.once('exit', () => rmSync(ownDataDir, { recursive: true, force: true }));
  let output = '';
  // 'close', not 'exit': only then has everything the process printed been read.
  const exited = new Promise<number | string>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal ?? -1)));
  const listening = await new Promise<{ url: string; metricsUrl?: string }>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // The whole line (up to its newline), so that a chunk that cuts it short is not parsed.
      const match = /^(\{.*"msg":"sms-callback-bff listening".*\})\n/m.exec(output);
      if (match) {
        const line = JSON.parse(match[1]) as { url: string; metrics?: string };
        resolve({ url: line.url, metricsUrl: line.metrics });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`BFF exited (${code}) before listening:\n${output}`)));
  });
  const waitForOutput = (text: string, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!output.includes(text)) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for "${text}" in the output:\n${output}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        child.stdout.off('data', check);
        child.stderr.off('data', check);
      };
      // After the data listener above has appended the chunk (listeners run in order).
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      check();
    });
  return { ...listening, scrape: () => scrapeMetrics(listening.metricsUrl), process: child, output: () => output, waitForOutput, exited };
}
