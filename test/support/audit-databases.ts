import { sql } from 'kysely';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { GENESIS_HASH } from '../../src/audit/audit-chain';
import type { KyselyAuditStore } from '../../src/audit/kysely-audit.store';

/**
 * The databases the suites run on: a fresh schema in the test PostgreSQL database, or a fresh PGlite data
 * directory seeded from the run's template (test/support/global-setup.js). One of each per suite, so counts
 * in it are exact and suites in parallel workers never meet.
 */

export type StoreKind = 'pglite' | 'postgres';

/** PGlite always; PostgreSQL when TEST_DATABASE_URL is set (global setup sets it when the local server answers). */
export function storeKinds(): StoreKind[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export const postgresAvailable = (): boolean => Boolean(process.env.TEST_DATABASE_URL);

/** Refuses any database whose name lacks "test": these suites create, truncate and drop. */
export function testDatabaseUrl(): string {
  const raw = process.env.TEST_DATABASE_URL;
  if (!raw) throw new Error('TEST_DATABASE_URL is not set');
  const name = decodeURIComponent(new URL(raw).pathname.replace(/^\//, ''));
  if (!/test/i.test(name)) throw new Error(`Refusing to run audit tests against database "${name}": its name must contain "test".`);
  return raw;
}

/** One statement on the test PostgreSQL server (guarded: the database name must contain "test"). */
export async function adminQuery(statement: string, database?: string): Promise<void> {
  const url = new URL(testDatabaseUrl());
  if (database) url.pathname = `/${database}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export interface TestSchema {
  readonly name: string;
  /** The test database URL with this schema as the search path, as the BFF is configured with it. */
  readonly databaseUrl: string;
}

/**
 * The run's tag in schema names (set by the global setup): the global teardown drops the run's schemas by it.
 * Not the suites: a schema dropped while a parallel suite migrates breaks that suite, because Kysely's
 * migrator looks at every table of the database (and PostgreSQL then fails on the dropped schema's name).
 */
const schemaTag = (): string => process.env.TEST_SCHEMA_TAG ?? `r${process.pid}`;

/** A fresh, empty schema in the test PostgreSQL database, dropped by the global teardown (see schemaTag). */
export async function createTestSchema(label: string): Promise<TestSchema> {
  const name = `${label}_${schemaTag()}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`create schema ${name}`);
  const url = new URL(testDatabaseUrl());
  url.searchParams.set('options', `-c search_path=${name}`);
  return { name, databaseUrl: url.toString() };
}

/**
 * Gives an embedded store directory (`<DATA_DIR>/audit`) an initialised but empty cluster, copied from the
 * run's template: initdb costs seconds per directory, a copy a tenth of one. The store still runs its own
 * migrations. Suites that test a first start on an empty directory simply do not call this.
 */
export function seedPgliteDir(auditDir: string): void {
  const template = process.env.TEST_PGLITE_TEMPLATE;
  const target = join(auditDir, 'pgdata');
  if (!template || existsSync(target)) return;
  cpSync(template, target, { recursive: true });
}

/** Empties the audit tables and resets the chain to genesis. */
export async function resetAuditTables(store: KyselyAuditStore): Promise<void> {
  await sql`truncate audit_records, audit_intents restart identity`.execute(store.db);
  await sql`update audit_chain_head set seq = 0, hash = ${GENESIS_HASH} where id = 1`.execute(store.db);
}
