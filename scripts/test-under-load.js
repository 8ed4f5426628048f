// `npm run test:under-load`: the whole suite while a CPU-bound process keeps one core busy, as on a shared CI
// machine. A suite that passes only on an idle machine is a broken suite; this is where that shows.
const { spawn } = require('node:child_process');

// The burner spins on one core and quits by itself once its parent is gone (a busy loop runs no timers, so
// it looks at its parent pid between slices instead).
const BURNER = `
  const parent = process.ppid;
  for (;;) {
    const until = Date.now() + 200;
    while (Date.now() < until) Math.sqrt(Math.random());
    if (process.ppid !== parent) process.exit(0);
  }
`;

const burner = spawn(process.execPath, ['-e', BURNER], { stdio: 'ignore' });
const stopBurner = () => burner.exitCode === null && burner.kill('SIGKILL');
process.stdout.write(`test:under-load: one core kept busy by pid ${burner.pid}\n`);

const tests = spawn('npm', ['test', '--', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => tests.kill(signal));
tests.once('exit', (code, signal) => {
  stopBurner();
  process.exit(code ?? (signal ? 1 : 0));
});
