import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
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
  logFile: string;
  exited: Promise<number | null>;
}

export interface SpawnOptions {
  name: string;
  /** Core to pin to; undefined runs unpinned. */
  core?: number;
  nodeArgs: string[];
  env: NodeJS.ProcessEnv;
  /** stdout and stderr go to this file (not through the harness). */
  logFile: string;
  cwd?: string;
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
  const fd = openSync(options.logFile, 'a');
  // taskset execs node, so the pid is node's own: /proc/<pid>/stat is the server's CPU time.
  const [command, args] =
    options.core === undefined
      ? [process.execPath, options.nodeArgs]
      : ['taskset', ['-c', String(options.core), process.execPath, ...options.nodeArgs]];
  const spawnedAt = performance.now();
  const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  children.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? -1 : null));
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${options.name}`);
  return { name: options.name, process: child, pid: child.pid, spawnedAt, logFile: options.logFile, exited };
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

/** The last lines of a child's log, for error messages. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}
