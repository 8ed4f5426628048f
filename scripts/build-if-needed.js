// Builds dist/ when it is missing or older than the sources: `npm start` on a fresh clone builds once, and
// `npm test` does not rebuild (and empty dist/ under a running `npm start`) when nothing changed.
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { execSync } = require('node:child_process');

const BUILT = 'dist/src/main.js';
const INPUTS = ['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'package-lock.json'];

/** The newest modification time under `path` (a file or a directory tree). */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((latest, entry) => Math.max(latest, newest(join(path, entry))), stat.mtimeMs);
}

// The embedded store's template cluster is part of `npm run build`, not of a bare `nest build` (which empties dist/).
const TEMPLATE = 'dist/pglite-template/manifest.json';
const stale = !existsSync(BUILT) || !existsSync(TEMPLATE) || INPUTS.some((input) => newest(input) > statSync(BUILT).mtimeMs);
if (stale) execSync('npm run build --silent', { stdio: 'inherit' });
