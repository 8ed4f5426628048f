import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { DataDirLockedError } from '../../src/audit/data-dir-lock';
import { PgliteAuditStore } from '../../src/audit/pglite-audit.store';
import { seedPgliteDir } from '../support/audit-databases';
import { aRecord, aSigningKey } from './support/audit-factories';

const fixture = join(__dirname, 'fixtures', 'open-pglite-store.js');

/** Starts a second process that opens the store; resolves with its first line of output. */
async function openInChild(dataDir: string): Promise<{ child: ChildProcessWithoutNullStreams; result: { opened?: true; error?: string; name?: string } }> {
  const child = spawn(process.execPath, [fixture, dataDir], { stdio: 'pipe' });
  let output = '';
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  for await (const chunk of child.stdout) {
    output += (chunk as Buffer).toString();
    if (output.includes('\n')) break;
  }
  if (!output.includes('\n')) throw new Error(`child said nothing; stderr: ${errors}`);
  return { child, result: JSON.parse(output.split('\n')[0]) };
}

describe('embedded audit store is single-process', () => {
  let root: string;
  let dataDir: string;
  const children: ChildProcessWithoutNullStreams[] = [];

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'audit-lock-'));
    dataDir = join(root, 'audit');
    seedPgliteDir(dataDir);
  });
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses a second process while the first has the directory open', async () => {
    const store = await PgliteAuditStore.open({ dataDir });
    try {
      const { child, result } = await openInChild(dataDir);
      children.push(child);
      expect(result.name).toBe('DataDirLockedError');
      expect(result.error).toContain(`is already in use by pid ${process.pid}`);
      expect(result.error).toContain('set DATABASE_URL to use PostgreSQL');
      const [code] = await once(child, 'exit');
      expect(code).toBe(1);
    } finally {
      await store.close();
    }
    expect(existsSync(join(dataDir, 'audit.lock'))).toBe(false);
  });

  it('refuses while another process holds it, and recovers once that process has crashed', async () => {
    const { child, result } = await openInChild(dataDir);
    children.push(child);
    expect(result).toEqual({ opened: true });

    const refusal = await PgliteAuditStore.open({ dataDir }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DataDirLockedError);
    expect((refusal as DataDirLockedError).ownerPid).toBe(child.pid);

    child.kill('SIGKILL'); // a crash: the lock file stays behind with a dead pid
    await once(child, 'exit');
    expect(existsSync(join(dataDir, 'audit.lock'))).toBe(true);

    const store = await PgliteAuditStore.open({ dataDir });
    try {
      await store.migrate();
      await expect(store.finalize(null, aRecord(), aSigningKey())).resolves.toMatchObject({ seq: 1 });
    } finally {
      await store.close();
    }
  });
});
