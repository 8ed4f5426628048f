import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDataDirLock, DataDirLockedError } from './data-dir-lock';

describe('acquireDataDirLock', () => {
  let dir: string;
  const lockFile = () => join(dir, 'audit.lock');

  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'dir-lock-')), 'audit');
    mkdirSync(dir);
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('creates the directory and a lock file with our pid, removed on release', () => {
    rmSync(dir, { recursive: true });
    const lock = acquireDataDirLock(dir);
    expect(JSON.parse(readFileSync(lockFile(), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
    expect(existsSync(lockFile())).toBe(false);
  });

  it('refuses a second open in the same process', () => {
    const lock = acquireDataDirLock(dir);
    try {
      expect(() => acquireDataDirLock(dir)).toThrow(DataDirLockedError);
      expect(() => acquireDataDirLock(dir)).toThrow(/already in use by this process/);
    } finally {
      lock.release();
    }
  });

  it('refuses a lock held by a live process and names it', () => {
    const live = process.ppid; // our parent is certainly alive
    writeFileSync(lockFile(), JSON.stringify({ pid: live, host: 'elsewhere', since: '2025-01-01T00:00:00.000Z' }));
    expect(() => acquireDataDirLock(dir)).toThrow(
      expect.objectContaining({ name: 'DataDirLockedError', ownerPid: live, message: expect.stringContaining(`in use by pid ${live} (host elsewhere`) }),
    );
    expect(existsSync(lockFile())).toBe(true);
  });

  it.each([
    ['a dead pid', () => JSON.stringify({ pid: spawnSync(process.execPath, ['-e', '']).pid })],
    ['our own pid from an earlier life', () => JSON.stringify({ pid: process.pid })],
    ['garbage', () => 'not json'],
    ['an empty file (crash while writing)', () => ''],
  ])('takes over a stale lock holding %s', (_, content) => {
    writeFileSync(lockFile(), content());
    const lock = acquireDataDirLock(dir);
    expect(JSON.parse(readFileSync(lockFile(), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it('does not delete a lock file that is no longer ours', () => {
    const lock = acquireDataDirLock(dir);
    writeFileSync(lockFile(), JSON.stringify({ pid: process.ppid }));
    lock.release();
    expect(existsSync(lockFile())).toBe(true);
  });
});
