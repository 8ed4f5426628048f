import { sql } from 'kysely';
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditStore } from '../../src/audit/audit.store';
import type { AuditRecord } from '../../src/audit/audit.types';
import { KyselyAuditStore } from '../../src/audit/kysely-audit.store';
import { PgliteAuditStore } from '../../src/audit/pglite-audit.store';
import { PostgresAuditStore } from '../../src/audit/postgres-audit.store';
import { createTestSchema, resetAuditTables, seedPgliteDir, type StoreKind, type TestSchema } from './audit-databases';
import { Harness, startHarness } from './bff-harness';
import { childEnv } from './test-run';

export { adminQuery, postgresAvailable, resetAuditTables, storeKinds, testDatabaseUrl, type StoreKind } from './audit-databases';

const DIST = join(__dirname, '..', '..', 'dist', 'src');
export const VERIFY_CLI = join(DIST, 'audit', 'verify-cli.js');

/**
 * Suites that run the built server or CLI need dist/ (`npm test` builds it in pretest). A build running
 * meanwhile empties dist/ for a while, so this waits a little before giving up with a clear message.
 */
export async function assertBuilt(): Promise<void> {
  const built = () => existsSync(VERIFY_CLI) && existsSync(join(DIST, 'main.js'));
  await waitFor('dist/ (run `npm run build` first)', async () => built(), 20_000);
}

/**
 * One isolated audit database, in the shape the BFF is configured with: a fresh DATA_DIR (PGlite lives in
 * `<DATA_DIR>/audit`, seeded from the run's template) or a fresh schema in the test PostgreSQL database,
 * and an Ed25519 signing key of its own. Counts in it are therefore exact. The one harness of every audit
 * suite: store-level suites open stores on it, app-level suites configure a BFF or a CLI with it.
 */
export interface AuditBackend {
  readonly kind: StoreKind;
  readonly dataDir: string;
  /** Where the store lives, as the verify CLI and `openAuditStore` take it: `<DATA_DIR>/audit`, or the URL. */
  readonly location: { dataDir: string; databaseUrl?: string };
  /** Schema-scoped URL (PostgreSQL only). */
  readonly databaseUrl?: string;
  /** The schema's name (PostgreSQL only). */
  readonly schema?: string;
  readonly signingKeyPem: string;
  /** Overrides for `startHarness`: pins the store even when TEST_DATABASE_URL is set. */
  harnessEnv(extra?: Record<string, string>): Record<string, string>;
  /** Environment for a child process (`startChildBff`, the verify CLI): nothing inherited. */
  processEnv(extra?: Record<string, string>): Record<string, string>;
  /** A new, migrated store on the backend's database. For PGlite only while no BFF has it open. */
  openStore(): Promise<KyselyAuditStore>;
  teardown(): Promise<void>;
}

export async function createBackend(kind: StoreKind): Promise<AuditBackend> {
  const root = mkdtempSync(join(tmpdir(), 'audit-backend-'));
  const dataDir = join(root, 'data');
  const auditDir = join(dataDir, 'audit');
  const signingKeyPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const schema: TestSchema | undefined = kind === 'postgres' ? await createTestSchema('audit') : undefined;
  if (!schema) seedPgliteDir(auditDir);
  const databaseUrl = schema?.databaseUrl;
  const common = (): Record<string, string> => ({ DATA_DIR: dataDir, AUDIT_SIGNING_KEY: signingKeyPem, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
  return {
    kind,
    dataDir,
    location: { dataDir: auditDir, ...(databaseUrl ? { databaseUrl } : {}) },
    databaseUrl,
    schema: schema?.name,
    signingKeyPem,
    harnessEnv: (extra = {}) => ({
      // The harness gives itself a schema of its own when DATABASE_URL is absent; undefined pins PGlite.
      ...(databaseUrl ? {} : { DATABASE_URL: undefined as unknown as string }),
      ...common(),
      ...extra,
    }),
    processEnv: (extra = {}) => childEnv({ NODE_ENV: 'test', ...common(), ...extra }),
    openStore: async () => {
      const store = databaseUrl ? await PostgresAuditStore.open({ databaseUrl }) : await PgliteAuditStore.open({ dataDir: auditDir });
      await store.migrate();
      return store;
    },
    teardown: async () => {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A backend created by hooks, for suites that want one per test: `setup()` in beforeEach (or beforeAll),
 * `teardown()` after; `location` and `open()` in between.
 */
export interface StoreHarness {
  readonly kind: StoreKind;
  readonly location: { dataDir: string; databaseUrl?: string };
  setup(): Promise<void>;
  /** A new, migrated store instance on the backend's database. */
  open(): Promise<KyselyAuditStore>;
  teardown(): Promise<void>;
}

export function storeHarness(kind: StoreKind): StoreHarness {
  let current: AuditBackend | undefined;
  const backend = (): AuditBackend => {
    if (!current) throw new Error('storeHarness: setup() has not run');
    return current;
  };
  return {
    kind,
    get location() {
      return backend().location;
    },
    setup: async () => {
      current = await createBackend(kind);
    },
    open: () => backend().openStore(),
    teardown: async () => {
      await current?.teardown();
      current = undefined;
    },
  };
}

/**
 * One open store for a describe block, over its harness: set up and opened before all its tests, emptied
 * before each, closed and torn down after all. `use` receives it (the suite keeps it in a variable of its own).
 */
export function storePerSuite(harness: StoreHarness, use: (store: KyselyAuditStore) => void): void {
  let store: KyselyAuditStore | undefined;
  beforeAll(async () => {
    await harness.setup();
    store = await harness.open();
    use(store);
  });
  afterAll(async () => {
    await store?.close();
    await harness.teardown();
  });
  beforeEach(() => resetAuditTables(store!));
}

/**
 * The Kysely store a running in-process BFF uses, for raw SQL. The app may wrap the port (e.g. metrics), so
 * the wrapper's fields are searched for the store it delegates to.
 */
export function storeOf(h: Harness): KyselyAuditStore {
  const unwrap = (store: unknown, depth: number): KyselyAuditStore | undefined => {
    if (store instanceof KyselyAuditStore) return store;
    if (depth === 0 || typeof store !== 'object' || store === null) return undefined;
    for (const value of Object.values(store)) {
      const found = value instanceof AuditStore ? unwrap(value, depth - 1) : undefined;
      if (found) return found;
    }
    return undefined;
  };
  const store = unwrap(h.app.get(AuditStore), 3);
  if (!store) throw new Error("the app's AuditStore is not (a wrapper of) a KyselyAuditStore");
  return store;
}

/** Records of the given BFF request ids, in chain order. */
export async function recordsOf(store: KyselyAuditStore, ...requestIds: string[]): Promise<AuditRecord[]> {
  if (!requestIds.length) return [];
  const records: AuditRecord[] = [];
  for await (const record of store.readChain()) if (requestIds.includes(record.request_id)) records.push(record);
  return records;
}

export async function intentCount(store: KyselyAuditStore, requestId?: string): Promise<number> {
  let query = store.db.selectFrom('audit_intents').select(sql<string>`count(*)`.as('n'));
  if (requestId) query = query.where('request_id', '=', requestId);
  return Number((await query.executeTakeFirstOrThrow()).n);
}

/** Every column of every row of both audit tables, as PostgreSQL renders the row as text. */
export async function dumpAuditTables(store: KyselyAuditStore): Promise<string[]> {
  const rows = await sql<{ row: string }>`select t::text as row from audit_records t union all select t::text from audit_intents t`.execute(store.db);
  return rows.rows.map((r) => r.row);
}

/** A request id of our own, sent as X-Request-Id, so records are found by it rather than by counting. */
export const newRequestId = (label: string): string => `${label}-${randomBytes(6).toString('hex')}`;

/** An API key as configured (`AUTH_API_KEYS` holds only its hash). */
export interface TestApiKey {
  key: string;
  name: string;
  scopes: string[];
  projects: string[] | '*';
}

export function apiKey(name: string, scopes: string[], projects: string[] | '*'): TestApiKey {
  return { key: `${name}-${randomBytes(16).toString('hex')}`, name, scopes, projects };
}

export function apiKeysEnv(keys: TestApiKey[]): string {
  return JSON.stringify(keys.map(({ key, name, scopes, projects }) => ({ name, sha256: createHash('sha256').update(key).digest('hex'), scopes, projects })));
}

/** Polls until `condition` holds; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, condition: () => Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run audit:verify` without npm: the built CLI with exactly the given environment. */
export function runVerifyCli(env: Record<string, string>, args: string[] = []): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // Outside the repository, so that a developer's .env (read from the working directory) adds nothing.
    const child = spawn(process.execPath, [VERIFY_CLI, ...args], { env, cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`verify-cli did not finish within 20 s:\n${stdout}${stderr}`));
    }, 20_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * One fresh audit backend and one BFF on it for the whole suite (beforeAll/afterAll registered here). Read
 * `suite.backend` and `suite.h` inside tests, after setup has run.
 */
export function auditHarnessPerSuite(kind: StoreKind, env: Record<string, string>): { backend: AuditBackend; h: Harness } {
  const suite = {} as { backend: AuditBackend; h: Harness };
  beforeAll(async () => {
    suite.backend = await createBackend(kind);
    suite.h = await startHarness(suite.backend.harnessEnv(env));
  });
  afterAll(async () => {
    await suite.h?.close();
    await suite.backend?.teardown();
  });
  return suite;
}
