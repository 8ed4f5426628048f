// `npm start` on a fresh clone: build once, then start without rebuilding.
const { existsSync } = require('node:fs');
const { execSync } = require('node:child_process');

if (!existsSync('dist/src/main.js')) {
  execSync('npm run build --silent', { stdio: 'inherit' });
}
