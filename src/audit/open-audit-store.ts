import { AuditStore } from './audit.store';
import { PgliteAuditStore } from './pglite-audit.store';
import { PostgresAuditStore } from './postgres-audit.store';

/** PostgreSQL when a URL is configured, else the embedded PGlite store under `dataDir`. */
export function openAuditStore(options: { databaseUrl?: string; dataDir: string }): Promise<AuditStore> {
  return options.databaseUrl
    ? PostgresAuditStore.open({ databaseUrl: options.databaseUrl })
    : PgliteAuditStore.open({ dataDir: options.dataDir });
}
