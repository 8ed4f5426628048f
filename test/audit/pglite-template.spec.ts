import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { sql } from 'kysely';
import { join } from 'node:path';
import { StartupError } from '../../src/common/startup-error';
import { PgliteAuditStore } from '../../src/audit/pglite-audit.store';
import { seedFromTemplate, writeTemplateManifest } from '../../src/audit/pglite-template';
import { aRecord, aSigningKey } from './support/audit-factories';

/** The first start of a new data directory copies the build's cluster (docs/performance.md, "Embedded store"). */
describe('embedded store: template cluster for a new data directory', () => {
  let root: string;
  let templateDir: string;
  let dataDir: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'audit-template-'));
    templateDir = join(root, 'template');
    dataDir = join(root, 'audit');
    // The run's initialised cluster stands in for the build's (same PGlite, initdb done once per run).
    const initialised = process.env.TEST_PGLITE_TEMPLATE;
    if (!initialised) throw new Error('TEST_PGLITE_TEMPLATE is set by test/support/global-setup.js');
    cpSync(initialised, join(templateDir, 'pgdata'), { recursive: true });
    writeTemplateManifest(templateDir);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const manifest = () => JSON.parse(readFileSync(join(templateDir, 'manifest.json'), 'utf8')) as { pglite: string; files: Array<[string, number, string]> };

  it('opens a new data directory from a copy of the template, migrates it and takes records', async () => {
    const store = await PgliteAuditStore.open({ dataDir, templateDir });
    try {
      await store.migrate();
      await expect(store.finalize(null, aRecord(), aSigningKey())).resolves.toMatchObject({ seq: 1 });
    } finally {
      await store.close();
    }
    expect(readdirSync(dataDir).sort()).toEqual(['pgdata']);
    expect(readFileSync(join(dataDir, 'pgdata', 'PG_VERSION'), 'utf8')).toBe(readFileSync(join(templateDir, 'pgdata', 'PG_VERSION'), 'utf8'));
  });

  it('migrates again only what the bookkeeping lacks (the fast path at the latest migration)', async () => {
    const store = await PgliteAuditStore.open({ dataDir, templateDir });
    try {
      await store.migrate();
      const names = async () => (await sql<{ name: string }>`select name from audit_migration order by name`.execute(store.db)).rows.map((row) => row.name);
      const all = await names();
      await store.migrate(); // nothing to do
      expect(await names()).toEqual(all);
      await sql`delete from audit_migration where name = '0003_access_key_actors'`.execute(store.db);
      await store.migrate(); // the Migrator applies 0003 again
      expect(await names()).toEqual(all);
    } finally {
      await store.close();
    }
  });

  it('refuses a damaged template with a message that says what to do, and leaves no cluster behind', async () => {
    const [path] = manifest().files.find(([file]) => file.startsWith('global/')) ?? [];
    appendFileSync(join(templateDir, 'pgdata', path!), 'x');

    const refusal = await PgliteAuditStore.open({ dataDir, templateDir }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(StartupError);
    expect((refusal as Error).message).toBe(
      `The PGlite template ${templateDir} is damaged (${path} differs from its manifest): rebuild it with \`npm run build\`, ` +
        'or delete that directory to initialise new data directories with initdb instead.',
    );
    expect(existsSync(join(dataDir, 'pgdata'))).toBe(false);
    expect(readdirSync(dataDir)).toEqual([]); // no partial copy, and the lock released
  });

  it('refuses a template whose files or manifest are missing', () => {
    rmSync(join(templateDir, 'pgdata', 'PG_VERSION'));
    expect(() => seedFromTemplate(templateDir, join(dataDir, 'pgdata'))).toThrow(/damaged \(PG_VERSION: ENOENT\)/);
    writeFileSync(join(templateDir, 'manifest.json'), '{"format":1,');
    expect(() => seedFromTemplate(templateDir, join(dataDir, 'pgdata'))).toThrow(/damaged \(manifest\.json unreadable/);
  });

  it('leaves an existing cluster alone, and a new one to initdb without a template or with one of another PGlite', () => {
    mkdirSync(dataDir, { recursive: true });
    expect(seedFromTemplate(join(root, 'no-template'), join(dataDir, 'pgdata'))).toBe(false);
    writeFileSync(join(templateDir, 'manifest.json'), JSON.stringify({ ...manifest(), pglite: '0.0.1' }));
    expect(seedFromTemplate(templateDir, join(dataDir, 'pgdata'))).toBe(false);
    mkdirSync(join(dataDir, 'pgdata'));
    writeTemplateManifest(templateDir);
    expect(seedFromTemplate(templateDir, join(dataDir, 'pgdata'))).toBe(false);
    expect(readdirSync(join(dataDir, 'pgdata'))).toEqual([]);
  });

  it('removes the copy an interrupted start left behind', () => {
    mkdirSync(join(dataDir, 'pgdata.partial-999999', 'base'), { recursive: true });
    expect(seedFromTemplate(templateDir, join(dataDir, 'pgdata'))).toBe(true);
    expect(readdirSync(dataDir)).toEqual(['pgdata']);
  });
});
