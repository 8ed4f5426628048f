import { createServer } from 'node:http';

/**
 * `node --require …/lock-timing-preload.js dist/src/main.js` with BENCH_LOCK_STATS_PORT: times the audit
 * store's per-project lock and its chain appends, without touching the app. The harness calls
 * `POST /reset` on 127.0.0.1:<port> before a measured window and `GET /stats` after it.
 *
 * - lock wait: `lockProject` called → resolved (the lock is ours);
 * - lock held: resolved → its `release()` settled, i.e. the work under the lock (read before, If-Match,
 *   intent insert, upstream PUT, final record) plus the release: the `pg_advisory_unlock` round trip on
 *   PostgreSQL, or nothing when the session lock is handed to the next waiter of the project in this
 *   process (and on PGlite). The app no longer waits for that release before answering;
 * - finalize: the chain append of one final record, from the `finalize` call to its stored record: the
 *   wait for its batch (the chain appender writes the records queued meanwhile in one transaction that
 *   locks the one-row chain head FOR UPDATE, so batches of all instances are serial) and that transaction.
 *
 * The store's prototype is patched on the first /reset, when the app has long loaded it: no module is
 * loaded early, so cold start and idle RSS are those of the app. Cost: two performance.now() and an
 * array push per PUT.
 */

type Sample = number[];
const port = Number(process.env.BENCH_LOCK_STATS_PORT);
let wait: Sample = [];
let held: Sample = [];
let finalize: Sample = [];
let since = performance.now();
let patched = false;

interface HeldLock {
  release(): Promise<void>;
}

interface Patchable {
  lockProject(projectId: string, waitMs: number): Promise<HeldLock>;
  finalize(...args: unknown[]): Promise<unknown>;
}

async function patch(): Promise<void> {
  if (patched) return;
  patched = true;
  // Resolved from the same copy of dist/ as the app's main.js, so this is the module the app runs.
  const { KyselyAuditStore } = await import('../../src/audit/kysely-audit.store');
  const proto = KyselyAuditStore.prototype as unknown as Patchable;
  const lockProject = proto.lockProject;
  proto.lockProject = async function (this: unknown, projectId: string, waitMs: number): Promise<HeldLock> {
    const called = performance.now();
    const lock = await lockProject.call(this, projectId, waitMs);
    const entered = performance.now();
    wait.push(entered - called);
    const release = lock.release.bind(lock);
    return { ...lock, release: () => release().finally(() => held.push(performance.now() - entered)) };
  };
  const finalizeRecord = proto.finalize;
  proto.finalize = function (this: unknown, ...args: unknown[]) {
    const started = performance.now();
    return finalizeRecord.apply(this, args).finally(() => finalize.push(performance.now() - started));
  };
}

export interface Distribution {
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Sum of the samples / the window: how many were in progress on average. */
  concurrency: number;
}

export interface LockStats {
  seconds: number;
  wait: Distribution;
  held: Distribution;
  finalize: Distribution;
}

function distribution(samples: Sample, seconds: number): Distribution {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  const sum = sorted.reduce((a, b) => a + b, 0);
  const at = (q: number) => (n ? sorted[Math.min(n - 1, Math.floor(q * n))] : NaN);
  return { count: n, meanMs: n ? sum / n : NaN, p50Ms: at(0.5), p99Ms: at(0.99), concurrency: seconds > 0 ? sum / 1000 / seconds : NaN };
}

if (port) {
  createServer((request, response) => {
    const done = (body: unknown) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.method === 'POST' && request.url === '/reset') {
      void patch().then(
        () => {
          wait = [];
          held = [];
          finalize = [];
          since = performance.now();
          done({ ok: true });
        },
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
      return;
    }
    const seconds = (performance.now() - since) / 1000;
    const stats: LockStats = { seconds, wait: distribution(wait, seconds), held: distribution(held, seconds), finalize: distribution(finalize, seconds) };
    done(stats);
  })
    .listen(port, '127.0.0.1')
    .unref();
}
