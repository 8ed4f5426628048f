const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Client } = require('pg');
const { URL } = require('node:url');

const LOCAL_TEST_DATABASE = 'postgres://postgres@127.0.0.1:5432/sms_callback_bff_test';

/** A client on `url` that connected within a second, or undefined when nothing answers there. */
async function connect(url) {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch {
    await client.end().catch(() => undefined);
    return undefined;
  }
}

/**
 * The PostgreSQL suites' database. Unset, TEST_DATABASE_URL defaults to the local server when it answers,
 * so that `npm test` alone runs what CI runs; set to an empty string, PostgreSQL is left out. The database
 * itself is created when missing (its name must contain "test", see test/support/audit-databases.ts).
 */
async function resolveTestDatabase() {
  if (process.env.TEST_DATABASE_URL === '') {
    delete process.env.TEST_DATABASE_URL;
    return 'left out (TEST_DATABASE_URL is empty)';
  }
  const wanted = process.env.TEST_DATABASE_URL ?? LOCAL_TEST_DATABASE;
  const server = new URL(wanted);
  const name = decodeURIComponent(server.pathname.replace(/^\//, ''));
  server.pathname = '/postgres';
  const admin = await connect(server.toString());
  if (!admin) {
    if (process.env.TEST_DATABASE_URL) throw new Error(`TEST_DATABASE_URL: no PostgreSQL server answers at ${server.host}`);
    return `not found at ${server.host}: PGlite only`;
  }
  try {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount && /test/i.test(name)) {
      await admin.query(`create database "${name.replace(/"/g, '""')}"`).catch((error) => {
        if (error.code !== '42P04') throw error; // created meanwhile by another run
      });
    }
  } finally {
    await admin.end();
  }
  process.env.TEST_DATABASE_URL = wanted;
  return `${server.host}/${name}`;
}

/**
 * One initialised, empty PGlite cluster per run. Every suite's embedded store directory starts as a copy of
 * it: initdb takes seconds per directory, a copy a tenth of one.
 */
async function createPgliteTemplate() {
  const { PGlite } = require('@electric-sql/pglite');
  const dir = join(mkdtempSync(join(tmpdir(), 'bff-test-pglite-template-')), 'pgdata');
  const pglite = await PGlite.create(dir);
  await pglite.close();
  return dir;
}

/**
 * Runs once, in jest's parent process, before any worker starts; workers and every process a test starts
 * inherit the environment set here. TEST_RUN_MARK marks them, so the global teardown finds anything a test
 * left running, however deep in the process tree.
 */
module.exports = async () => {
  process.env.TEST_RUN_MARK = `${process.pid}-${Date.now()}`;
  // The run's schemas carry this tag (test/support/audit-databases.ts); the global teardown drops them by it.
  process.env.TEST_SCHEMA_TAG = `r${process.pid}x${Date.now()}`;
  const [database, template] = await Promise.all([resolveTestDatabase(), createPgliteTemplate()]);
  process.env.TEST_PGLITE_TEMPLATE = template;
  process.stdout.write(`\ntest stores: PostgreSQL ${database}; Redis ${process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379'}\n`);
};
