const { readFileSync, readdirSync } = require('node:fs');

/** A /proc file, or '' when its process or thread ended meanwhile. */
function read(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Child processes of `pid` (Linux /proc), with their command lines. */
function childrenOf(pid) {
  const children = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    for (const id of read(`/proc/${pid}/task/${task}/children`).split(' ').filter(Boolean)) {
      const command = read(`/proc/${id}/cmdline`).replace(/\0/g, ' ').trim();
      // Empty: it exited meanwhile.
      if (command) children.push({ pid: Number(id), command });
    }
  }
  return children;
}

/**
 * Hermetic means nothing outlives its test: after the whole run, no process that a test started (a BFF, the
 * verify CLI, an emulator) may still be running. Jest's own workers are not tests' children.
 */
module.exports = async () => {
  if (process.platform !== 'linux') return;
  const leftovers = childrenOf(process.pid).filter(({ command }) => !/jest-worker|processChild/.test(command));
  if (!leftovers.length) return;
  for (const { pid } of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  throw new Error(`processes outlived their tests:\n${leftovers.map(({ pid, command }) => `  ${pid} ${command}`).join('\n')}`);
};
