import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { StartupError } from '../common/startup-error';

/**
 * Postgres settings of the embedded cluster, appended to PGlite's own start parameters (which they must
 * not replace: single-user mode, no parallel workers). Postgres touches all of shared_buffers when it
 * starts, and the default 128MB also makes PGlite's WebAssembly memory grow past its 128 MB floor; the
 * audit's working set (the chain head, recent intents, index pages) is a few MB, and pages outside the
 * buffers are still in the OS page cache. docs/performance.md, "Embedded store: start and memory".
 */
export const PGLITE_SETTINGS = ['shared_buffers=16MB', 'temp_buffers=1MB', 'work_mem=1MB', 'maintenance_work_mem=8MB'];

export function pgliteStartParams(defaults: readonly string[]): string[] {
  return [...defaults, ...PGLITE_SETTINGS.flatMap((setting) => ['-c', setting])];
}

/** The template made by `npm run build` (scripts/build-pglite-template.ts), beside the compiled code. */
export const BUILT_TEMPLATE_DIR = join(__dirname, '..', '..', 'pglite-template');

const MANIFEST = 'manifest.json';
const FORMAT = 1;

interface TemplateManifest {
  format: number;
  /** The PGlite that ran initdb: another version may not read the cluster, so its template is not used. */
  pglite: string;
  dirs: string[];
  /** [path relative to pgdata/, size, SHA-256 hex] */
  files: Array<[string, number, string]>;
}

export function installedPgliteVersion(): string {
  // The package's exports do not include its package.json; its entry point sits in dist/.
  const entry = require.resolve('@electric-sql/pglite');
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** Writes the manifest of a freshly initialised, closed cluster at `<templateDir>/pgdata`. */
export function writeTemplateManifest(templateDir: string): void {
  const root = join(templateDir, 'pgdata');
  const manifest: TemplateManifest = { format: FORMAT, pglite: installedPgliteVersion(), dirs: [], files: [] };
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        manifest.dirs.push(relative(root, path));
        walk(path);
      } else {
        const bytes = readFileSync(path);
        manifest.files.push([relative(root, path), bytes.length, sha256(bytes)]);
      }
    }
  };
  walk(root);
  writeFileSync(join(templateDir, MANIFEST), `${JSON.stringify(manifest)}\n`);
}

/**
 * Gives a new data directory its cluster by copying the build's template instead of running initdb (seconds,
 * and a second PGlite instance whose memory stays with the process). Returns false, leaving `pgdata` to
 * PGlite's initdb, when there is no template or it was made by another PGlite version; throws a
 * StartupError when the template is damaged. Every file is checked against the manifest while it is copied,
 * into a directory that becomes `pgdata` only when complete: an interrupted copy is never taken for a cluster.
 * The caller holds the data directory's lock.
 */
export function seedFromTemplate(templateDir: string, pgdata: string): boolean {
  if (existsSync(pgdata)) return false;
  const manifestPath = join(templateDir, MANIFEST);
  if (!existsSync(manifestPath)) return false;
  const damaged = (why: string) =>
    new StartupError(
      `The PGlite template ${templateDir} is damaged (${why}): rebuild it with \`npm run build\`, or delete that ` +
        'directory to initialise new data directories with initdb instead.',
    );
  let manifest: TemplateManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as TemplateManifest;
  } catch (error) {
    throw damaged(`${MANIFEST} unreadable: ${(error as Error).message}`);
  }
  if (manifest.format !== FORMAT || !Array.isArray(manifest.dirs) || !Array.isArray(manifest.files)) throw damaged(`${MANIFEST} not understood`);
  if (manifest.pglite !== installedPgliteVersion()) return false;
  if (!manifest.files.some(([path]) => path === 'PG_VERSION')) throw damaged('no PG_VERSION');

  const partial = `${pgdata}.partial-${process.pid}`;
  // Copies a crashed start left behind: the lock's holder is the only writer of this directory.
  mkdirSync(dirname(pgdata), { recursive: true });
  for (const entry of readdirSync(dirname(pgdata))) {
    if (entry.startsWith(`${basename(pgdata)}.partial-`)) rmSync(join(dirname(pgdata), entry), { recursive: true, force: true });
  }
  try {
    mkdirSync(partial, { recursive: true, mode: 0o700 });
    for (const dir of manifest.dirs) mkdirSync(join(partial, dir), { recursive: true, mode: 0o700 });
    for (const [path, size, digest] of manifest.files) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(templateDir, 'pgdata', path));
      } catch (error) {
        throw damaged(`${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      if (bytes.length !== size || sha256(bytes) !== digest) throw damaged(`${path} differs from its manifest`);
      writeFileSync(join(partial, path), bytes, { mode: 0o600 });
    }
    renameSync(partial, pgdata);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw error;
  }
  return true;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
