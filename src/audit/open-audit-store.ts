import { AuditStore } from './audit.store';
import { PostgresAuditStore, PostgresAuditStoreOptions } from './postgres-audit.store';

/**
 * PostgreSQL when a URL is configured, else the embedded PGlite store under `dataDir`. PGlite (and its
 * WebAssembly) is loaded only when used, so a server on PostgreSQL does not pay its memory and start time.
 */
export async function openAuditStore(options: { databaseUrl?: string; dataDir: string } & Omit<PostgresAuditStoreOptions, 'databaseUrl'>): Promise<AuditStore> {
  if (options.databaseUrl) return PostgresAuditStore.open({ ...options, databaseUrl: options.databaseUrl });
  const { PgliteAuditStore } = await import('./pglite-audit.store');
  return PgliteAuditStore.open({ dataDir: options.dataDir });
}
