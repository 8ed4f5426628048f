/**
 * Part of `npm run build`: initialises and migrates an empty PGlite cluster once, at build time, into
 * dist/pglite-template with a manifest of its files, so that the embedded store's first start on a new
 * DATA_DIR copies it instead of running initdb and the first migrations (src/audit/pglite-template.ts;
 * docs/performance.md, "Embedded store: start and memory"). Every start still runs the migrations: those
 * added after this build, or none.
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PgliteAuditStore } from '../src/audit/pglite-audit.store';
import { BUILT_TEMPLATE_DIR, writeTemplateManifest } from '../src/audit/pglite-template';

async function main(): Promise<void> {
  const started = performance.now();
  const building = `${BUILT_TEMPLATE_DIR}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  // The store's own open and migrations (no template: this is the one initdb); close shuts Postgres down cleanly.
  const store = await PgliteAuditStore.open({ dataDir: building, templateDir: join(building, 'none') });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  writeTemplateManifest(building);
  rmSync(BUILT_TEMPLATE_DIR, { recursive: true, force: true });
  renameSync(building, BUILT_TEMPLATE_DIR);
  process.stdout.write(`PGlite template: ${BUILT_TEMPLATE_DIR} (${Math.round(performance.now() - started)} ms)\n`);
}

main().catch((error: unknown) => {
  rmSync(`${BUILT_TEMPLATE_DIR}.building-${process.pid}`, { recursive: true, force: true });
  process.stderr.write(`PGlite template not built: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
