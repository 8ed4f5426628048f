import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { WriteStream, createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Child processes of the benchmark (emulator, pass-through, BFF): pinned to a core with taskset,
 * tracked so every one of them is killed when the harness exits, fails or is interrupted.
 */

const children = new Set<ChildProcess>();

export const CLOCK_TICKS_PER_SECOND = readClockTicks();

export interface PinnedChild {
  name: string;
  process: ChildProcess;
  pid: number;
  /** performance.now() just before spawn. */
  spawnedAt: number;
  output: OutputSink;
  exited: Promise<number | null>;
}

export interface SpawnOptions {
  name: string;
  /** Core to pin to; undefined runs unpinned. */
  core?: number;
  nodeArgs: string[];
  env: NodeJS.ProcessEnv;
  /** Also append the child's output to this file. */
  logFile?: string;
  /** Substrings to look for in the output (see OutputSink.saw). */
  watch?: string[];
  cwd?: string;
}

/**
 * A child's stdout and stderr, read through a pipe as a container runtime reads a service's logs: the
 * last 64 KiB for error messages, and whether watched substrings appeared. (Logging to a file on the
 * disk that PostgreSQL fsyncs made pino's synchronous writes stall; see docs/performance.md.)
 */
export class OutputSink {
  private text = '';
  private readonly seen = new Map<string, boolean>();
  private readonly file?: WriteStream;

  constructor(watch: string[] = [], file?: string) {
    for (const needle of watch) this.seen.set(needle, false);
    if (file) this.file = createWriteStream(file, { flags: 'a' });
  }

  push(chunk: Buffer): void {
    const piece = chunk.toString('utf8');
    this.file?.write(chunk);
    const window = this.text.slice(-200) + piece;
    for (const [needle, found] of this.seen) if (!found && window.includes(needle)) this.seen.set(needle, true);
    this.text = (this.text + piece).slice(-65_536);
  }

  saw(needle: string): boolean {
    return this.seen.get(needle) ?? false;
  }

  tail(lines = 20): string {
    return this.text.trimEnd().split('\n').slice(-lines).join('\n') || '(no output)';
  }

  close(): void {
    this.file?.end();
  }
}

export function canPin(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pins the harness itself (and so autocannon, which runs in it). */
export function pinSelf(core: number): void {
  execFileSync('taskset', ['-cp', String(core), String(process.pid)], { stdio: 'ignore' });
}

export function spawnNode(options: SpawnOptions): PinnedChild {
  // taskset execs node, so the pid is node's own: /proc/<pid>/stat is the server's CPU time.
  const [command, args] =
    options.core === undefined ? [process.execPath, options.nodeArgs] : ['taskset', ['-c', String(options.core), process.execPath, ...options.nodeArgs]];
  const spawnedAt = performance.now();
  const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = new OutputSink(options.watch, options.logFile);
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
  children.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      output.close();
      resolve(code ?? (signal ? -1 : null));
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${options.name}`);
  return { name: options.name, process: child, pid: child.pid, spawnedAt, output, exited };
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child: PinnedChild, graceMs = 5_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Synchronous last resort, safe inside process.on('exit'). */
export function killAllChildren(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}

export interface ProcSample {
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  rssBytes: number;
}

/** CPU time and RSS of a process from /proc (Linux). */
export function procSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuTicks = Number(fields[11]) + Number(fields[12]); // utime (14) and stime (15) of proc(5)
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return { cpuTicks, rssBytes: rssKb * 1024 };
}

export function ticksToMicros(ticks: number): number {
  return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU ticks of all PostgreSQL server processes on this machine (a local server does the audit work of
 * the PostgreSQL store outside the BFF's process). Backends that exit meanwhile are dropped from both sides.
 */
export function postgresTicks(): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      ticks.set(Number(entry), procSample(Number(entry)).cpuTicks);
    } catch {
      // gone
    }
  }
  return ticks;
}

export function ticksSpent(before: Map<number, number>, after: Map<number, number>): number {
  let spent = 0;
  for (const [pid, t] of after) spent += t - (before.get(pid) ?? 0);
  return spent;
}

/** Busy and total jiffies per core from /proc/stat, to see what else used the cores. */
export function coreTimes(): Array<{ busy: number; total: number }> {
  const cores: Array<{ busy: number; total: number }> = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const v = match[2].split(/\s+/).map(Number);
    const idle = v[3] + (v[4] ?? 0); // idle + iowait
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // without guest time, already in user
    cores[Number(match[1])] = { busy: total - idle, total };
  }
  return cores;
}

export function busyShare(before: Array<{ busy: number; total: number }>, after: Array<{ busy: number; total: number }>): number[] {
  return after.map((a, i) => {
    const total = a.total - (before[i]?.total ?? 0);
    return total > 0 ? (a.busy - (before[i]?.busy ?? 0)) / total : 0;
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}
