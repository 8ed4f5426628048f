const { readFileSync, readdirSync, rmSync } = require('node:fs');
const { dirname } = require('node:path');
const { Client } = require('pg');

/**
 * The run's PostgreSQL schemas, dropped only now that no suite runs (test/support/audit-databases.ts says
 * why not earlier), found by the tag the global setup gave them.
 */
async function dropRunSchemas(tag) {
  if (!process.env.TEST_DATABASE_URL) return;
  const client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query("select nspname from pg_namespace where nspname like '%\\_' || $1 || '\\_%'", [tag]);
    for (const { nspname } of rows) await client.query(`drop schema if exists "${nspname}" cascade`);
  } finally {
    await client.end();
  }
}

/** A /proc file, or '' when its process ended meanwhile (or is not ours to read). */
function read(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Processes (Linux /proc) whose environment carries this run's mark, with their command lines. */
function markedProcesses(mark) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    if (!read(`/proc/${entry}/environ`).split('\0').includes(`TEST_RUN_MARK=${mark}`)) continue;
    const command = read(`/proc/${entry}/cmdline`).replace(/\0/g, ' ').trim();
    // Empty: it exited meanwhile.
    if (command) found.push({ pid: Number(entry), command });
  }
  return found;
}

/**
 * Hermetic means nothing outlives its test: after the whole run, no process that a test started (a BFF, the
 * verify CLI, an emulator, a load generator) may still be running — found by the mark the global setup put
 * in the environment, so grandchildren of parallel workers count too. Jest's own workers are not tests'.
 */
module.exports = async () => {
  const template = process.env.TEST_PGLITE_TEMPLATE;
  if (template) rmSync(dirname(template), { recursive: true, force: true });
  if (process.env.TEST_SCHEMA_TAG) await dropRunSchemas(process.env.TEST_SCHEMA_TAG);
  const mark = process.env.TEST_RUN_MARK;
  if (process.platform !== 'linux' || !mark) return;
  const leftovers = markedProcesses(mark).filter(({ command }) => !/jest-worker|processChild/.test(command));
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
