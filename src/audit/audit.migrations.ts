import { Kysely, Migration, MigrationResultSet, Migrator, sql } from 'kysely';
import { GENESIS_HASH } from './audit-chain';
import { AUDIT_OUTCOMES } from './audit.types';

const list = (values: readonly string[]) => sql.raw(values.map((value) => `'${value}'`).join(', '));

/** The actor kinds as 0001 created them: a released migration keeps its own list when AUDIT_ACTOR_KINDS grows. */
const ACTOR_KINDS_0001 = ['jwt', 'api-key', 'development', 'anonymous'] as const;
const ACTOR_KINDS_0003 = ['jwt', 'api-key', 'access-key', 'development', 'anonymous'] as const;

/** One set of migrations for PGlite and PostgreSQL. Append new ones; never edit a released one. */
export const auditMigrations: Record<string, Migration> = {
  '0001_audit': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Final, chained records. seq is chain order: it is assigned under the chain lock.
      await sql`
        create table audit_records (
          seq bigint generated always as identity primary key,
          id uuid not null unique,
          request_id text not null,
          started_at timestamptz not null,
          recorded_at timestamptz not null,
          actor_kind text not null check (actor_kind in (${list(ACTOR_KINDS_0001)})),
          actor_subject text,
          actor_client_id text,
          source_ip text not null,
          user_agent text,
          project_id text not null,
          requested jsonb not null,
          before jsonb,
          outcome text not null check (outcome in (${list(AUDIT_OUTCOMES)})),
          http_status integer,
          error_code text,
          upstream_status integer,
          upstream_request_id text,
          duration_ms integer,
          -- unique: two records on one predecessor would be a fork of the chain
          prev_hash text not null unique,
          hash text not null unique,
          signature text not null
        )`.execute(db);
      await sql`create index audit_records_project_seq on audit_records (project_id, seq desc)`.execute(db);
      await sql`create index audit_records_actor_seq on audit_records (actor_subject, seq desc)`.execute(db);
      await sql`create index audit_records_recorded_at on audit_records (recorded_at)`.execute(db);

      // Write-ahead intents: committed before the upstream call, deleted when finalised.
      await sql`
        create table audit_intents (
          id uuid primary key,
          instance_id text not null,
          request_id text not null,
          started_at timestamptz not null,
          actor_kind text not null,
          actor_subject text,
          actor_client_id text,
          source_ip text not null,
          user_agent text,
          project_id text not null,
          requested jsonb not null,
          before jsonb
        )`.execute(db);
      await sql`create index audit_intents_started_at on audit_intents (started_at)`.execute(db);

      // The one-row chain head: locked FOR UPDATE by every append, so appends are serialised
      // across instances and the head is read without scanning audit_records.
      await sql`
        create table audit_chain_head (
          id smallint primary key check (id = 1),
          seq bigint not null,
          hash text not null
        )`.execute(db);
      await sql`insert into audit_chain_head (id, seq, hash) values (1, 0, ${GENESIS_HASH})`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table audit_chain_head, audit_intents, audit_records`.execute(db);
    },
  },
  '0002_leases_and_amends': {
    async up(db: Kysely<unknown>): Promise<void> {
      // A late final outcome of a swept intent is its own record, pointing at the swept one.
      await sql`alter table audit_records add column amends uuid`.execute(db);
      await sql`create unique index audit_records_amends on audit_records (amends) where amends is not null`.execute(db);
      await sql`alter table audit_intents add column committed_at timestamptz not null default now()`.execute(db);
      await sql`create index audit_intents_committed_at on audit_intents (committed_at)`.execute(db);
      await sql`
        create table audit_instance_leases (
          instance_id text primary key,
          expires_at timestamptz not null
        )`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table audit_instance_leases`.execute(db);
      await sql`drop index audit_intents_committed_at`.execute(db);
      await sql`drop index audit_records_amends`.execute(db);
      await sql`alter table audit_intents drop column committed_at`.execute(db);
      await sql`alter table audit_records drop column amends`.execute(db);
    },
  },
  '0003_access_key_actors': {
    // Callers signing with a BFF-issued access key (caller AK/SK) are their own actor kind.
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table audit_records drop constraint audit_records_actor_kind_check`.execute(db);
      await sql`alter table audit_records add constraint audit_records_actor_kind_check check (actor_kind in (${list(ACTOR_KINDS_0003)}))`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`alter table audit_records drop constraint audit_records_actor_kind_check`.execute(db);
      await sql`alter table audit_records add constraint audit_records_actor_kind_check check (actor_kind in (${list(ACTOR_KINDS_0001)}))`.execute(db);
    },
  },
};

/**
 * Runs the migrations. Kysely serialises concurrent runs (several instances starting at once).
 * Own bookkeeping table names and the current schema, so the audit never collides with another
 * module's migrations in the same database.
 */
export async function migrateAuditSchema(db: Kysely<unknown>): Promise<MigrationResultSet> {
  const { rows } = await sql<{ schema: string; bookkept: boolean }>`
    select current_schema() as schema, to_regclass(quote_ident(current_schema()) || '.audit_migration') is not null as bookkept`.execute(db);
  // Already at the latest: one more query instead of the Migrator's catalog introspection and lock, which
  // cost 0.1–0.3 s of every embedded start (docs/performance.md, "Embedded store"). Migrations are only
  // appended, and each is recorded in the transaction that applies it, so a complete list means nothing to
  // do; anything else (missing or unknown names) goes through the Migrator and its checks.
  if (rows[0].bookkept) {
    const applied = await sql<{ name: string }>`select name from ${sql.id(rows[0].schema, 'audit_migration')}`.execute(db);
    const names = applied.rows.map(({ name }) => name).sort();
    const known = Object.keys(auditMigrations).sort();
    if (names.length === known.length && names.every((name, i) => name === known[i])) return { results: [] };
  }
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(auditMigrations) },
    migrationTableName: 'audit_migration',
    migrationLockTableName: 'audit_migration_lock',
    migrationTableSchema: rows[0].schema,
  });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  return result;
}
