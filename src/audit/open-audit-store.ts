import { StartupError } from '../common/startup-error';
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

/** Errors of a connection that never got through, as Node and pg name them. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

/**
 * Why the store could not be opened or migrated at start, in one line that names the store (never the
 * password in its URL). Failures that already say what to do (a locked data directory) are kept as they are.
 */
export function storeFailure(error: unknown, options: { databaseUrl?: string; dataDir: string }): Error {
  if (error instanceof StartupError) return error;
  const e = error as { code?: string; message?: string };
  const reason = e.message?.trim() || String(error);
  if (!options.databaseUrl) return new StartupError(`The embedded audit store under ${options.dataDir} could not be opened: ${reason}`, { cause: error });
  const where = withoutCredentials(options.databaseUrl);
  const timedOut = /timeout/i.test(reason);
  if ((e.code && UNREACHABLE.has(e.code)) || timedOut) {
    return new StartupError(
      `The audit database ${where} (DATABASE_URL) cannot be reached: ${reason}. Check that PostgreSQL runs there and accepts connections.`,
      { cause: error },
    );
  }
  return new StartupError(`The audit database ${where} (DATABASE_URL) could not be opened or migrated: ${reason}`, { cause: error });
}

function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return 'postgres://…';
  }
}
