/**
 * Writes openapi/sms-callback-bff.openapi.json from the app itself (sorted, stable).
 * `--check` writes nothing and exits 1 when the committed file differs from a fresh generation (CI drift check).
 */
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/load-config';
import { buildOpenApiDocument, stableStringify } from '../src/openapi/openapi-document';

const TARGET = join(__dirname, '..', '..', 'openapi', 'sms-callback-bff.openapi.json');

async function main(): Promise<void> {
  // A fixed configuration, so the spec does not depend on the environment of whoever generates it; the app
  // is built but never listens or calls SMN, and its embedded audit store lives in a throwaway directory.
  const dataDir = mkdtempSync(join(tmpdir(), 'sms-callback-bff-openapi-'));
  const app = await createApp(
    loadConfig({
      NODE_ENV: 'development',
      LOG_LEVEL: 'silent',
      SMN_EMULATOR: 'true',
      SMN_ACCESS_KEY: 'unused',
      SMN_SECRET_KEY: 'unused',
      DATA_DIR: dataDir,
    }),
  );
  const spec = stableStringify(buildOpenApiDocument(app));
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });

  if (process.argv.includes('--check')) {
    const committed = readFileSync(TARGET, 'utf8');
    if (committed !== spec) {
      process.stderr.write(`${TARGET} is out of date: run \`npm run openapi\` and commit the result.\n`);
      process.exit(1);
    }
    process.stdout.write('openapi: committed spec is up to date\n');
    return;
  }
  writeFileSync(TARGET, spec);
  process.stdout.write(`openapi: wrote ${TARGET}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
