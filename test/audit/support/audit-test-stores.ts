import { sql } from 'kysely';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { GENESIS_HASH } from '../../../src/audit/audit-chain';
import { KyselyAuditStore } from '../../../src/audit/kysely-audit.store';
import { PgliteAuditStore } from '../../../src/audit/pglite-audit.store';
import { PostgresAuditStore } from '../../../src/audit/postgres-audit.store';

export type StoreKind = 'pglite' | 'postgres';

/** PGlite always; PostgreSQL when TEST_DATABASE_URL is set (as in CI). */
export function storeKinds(): StoreKind[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export const postgresAvailable = (): boolean => Boolean(process.env.TEST_DATABASE_URL);

/** One isolated database per suite: a temp directory (PGlite) or a fresh schema (PostgreSQL). */
export interface StoreHarness {
  readonly kind: StoreKind;
  /** For PGlite the data directory; for PostgreSQL the schema-scoped URL. */
  readonly location: { dataDir: string; databaseUrl?: string };
  setup(): Promise<void>;
  /** A new, migrated store instance on the suite's database. */
  open(): Promise<KyselyAuditStore>;
  teardown(): Promise<void>;
}

export function storeHarness(kind: StoreKind): StoreHarness {
  return kind === 'pglite' ? pgliteHarness() : postgresHarness();
}

function pgliteHarness(): StoreHarness {
  const location = { dataDir: '' };
  return {
    kind: 'pglite',
    location,
    setup: () => {
      location.dataDir = join(mkdtempSync(join(tmpdir(), 'audit-test-')), 'audit');
      return Promise.resolve();
    },
    open: async () => migrated(await PgliteAuditStore.open({ dataDir: location.dataDir })),
    teardown: () => {
      rmSync(join(location.dataDir, '..'), { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

function postgresHarness(): StoreHarness {
  const schema = `audit_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const location: { dataDir: string; databaseUrl?: string } = { dataDir: '' };
  const admin = async (statement: string) => {
    const client = new Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  return {
    kind: 'postgres',
    location,
    setup: async () => {
      // The signing key of the embedded default still lives beside a data directory.
      location.dataDir = join(mkdtempSync(join(tmpdir(), 'audit-test-')), 'audit');
      const url = new URL(testDatabaseUrl());
      url.searchParams.set('options', `-c search_path=${schema}`);
      location.databaseUrl = url.toString();
      await admin(`create schema ${schema}`);
    },
    open: async () => migrated(await PostgresAuditStore.open({ databaseUrl: location.databaseUrl! })),
    teardown: async () => {
      rmSync(join(location.dataDir, '..'), { recursive: true, force: true });
      await admin(`drop schema if exists ${schema} cascade`);
    },
  };
}

/** Refuses any database whose name lacks "test": these suites truncate tables. */
export function testDatabaseUrl(): string {
  const raw = process.env.TEST_DATABASE_URL;
  if (!raw) throw new Error('TEST_DATABASE_URL is not set');
  const name = decodeURIComponent(new URL(raw).pathname.replace(/^\//, ''));
  if (!/test/i.test(name)) throw new Error(`Refusing to run audit tests against database "${name}": its name must contain "test".`);
  return raw;
}

async function migrated(store: KyselyAuditStore): Promise<KyselyAuditStore> {
  await store.migrate();
  return store;
}

/** Empties the audit tables and resets the chain to genesis. */
export async function resetAuditTables(store: KyselyAuditStore): Promise<void> {
  await sql`truncate audit_records, audit_intents restart identity`.execute(store.db);
  await sql`update audit_chain_head set seq = 0, hash = ${GENESIS_HASH} where id = 1`.execute(store.db);
}
