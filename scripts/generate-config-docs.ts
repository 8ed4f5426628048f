/**
 * Writes docs/configuration.md and .env.example from the configuration schema (src/config/config.schema.ts).
 * `--check` writes nothing and exits 1 when a committed file differs from a fresh generation (CI drift check).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { configReference, renderEnvExample, renderMarkdown } from '../src/config/config-reference';

const ROOT = join(__dirname, '..', '..');

function main(): void {
  const reference = configReference();
  const files = [
    { path: join(ROOT, 'docs', 'configuration.md'), content: renderMarkdown(reference) },
    { path: join(ROOT, '.env.example'), content: renderEnvExample(reference) },
  ];

  if (process.argv.includes('--check')) {
    const stale = files.filter(({ path, content }) => {
      try {
        return readFileSync(path, 'utf8') !== content;
      } catch {
        return true;
      }
    });
    if (stale.length) {
      process.stderr.write(`${stale.map(({ path }) => relative(ROOT, path)).join(', ')} out of date: run \`npm run config:docs\` and commit the result.\n`);
      process.exit(1);
    }
    process.stdout.write('config docs: docs/configuration.md and .env.example are up to date\n');
    return;
  }
  for (const { path, content } of files) writeFileSync(path, content);
  process.stdout.write(`config docs: wrote ${files.map(({ path }) => relative(ROOT, path)).join(', ')}\n`);
}

main();
