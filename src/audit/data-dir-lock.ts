import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { StartupError } from '../common/startup-error';

/** Thrown when another live process (or this one) already has the data directory open. */
export class DataDirLockedError extends StartupError {
  constructor(
    message: string,
    readonly lockFile: string,
    readonly ownerPid: number,
  ) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

interface LockOwner {
  pid: number;
  host?: string;
  since?: string;
}

/** Lock files this process holds; a second open in the same process must refuse too. */
const held = new Set<string>();

/**
 * Takes the single-process lock of an embedded (PGlite) data directory: a file created with
 * O_EXCL holding the owner's pid. PGlite itself does not notice a second process and both would
 * write the same files, so this is what keeps the data intact.
 *
 * A lock whose pid is no longer alive is left over from a crash and is taken over. Our own pid in
 * a lock we do not hold is stale too (a restarted container is often pid 1 again).
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'audit.lock');
  if (held.has(path)) throw lockedError(path, { pid: process.pid, host: hostname() }, 'this process');

  const content = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies LockOwner);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, `${content}\n`, { flag: 'wx', mode: 0o644 });
      held.add(path);
      return { path, release: () => release(path) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const text = readText(path);
    if (text === undefined) continue; // removed meanwhile: try again
    const owner = parseOwner(text);
    if (owner && owner.pid !== process.pid && isAlive(owner.pid)) throw lockedError(path, owner, `pid ${owner.pid}`);
    // Stale. Remove it only if it is still the file we judged (narrows a race with another starter).
    if (readText(path) === text) unlinkQuietly(path);
  }
  throw lockedError(path, parseOwner(readText(path) ?? '') ?? { pid: 0 }, 'another process');
}

function release(path: string): void {
  if (!held.delete(path)) return;
  const owner = parseOwner(readText(path) ?? '');
  if (owner?.pid === process.pid) unlinkQuietly(path);
}

function lockedError(path: string, owner: LockOwner, who: string): DataDirLockedError {
  const details = [owner.host && `host ${owner.host}`, owner.since && `since ${owner.since}`].filter(Boolean).join(', ');
  return new DataDirLockedError(
    `The audit data directory ${dirname(path)} is already in use by ${who}${details ? ` (${details})` : ''}. ` +
      'The embedded PGlite store is single-process: stop the other process, or set DATABASE_URL to use PostgreSQL ' +
      `for several instances. If no such process is running, delete ${path}.`,
    path,
    owner.pid,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as LockOwner;
    return Number.isInteger(owner.pid) && owner.pid > 0 ? owner : undefined;
  } catch {
    return undefined;
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
