import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { DEMO_CREDENTIALS, DEMO_PROJECT_ID, DEMO_REGION, DEMO_TOPICS } from '../../src/emulator/emulator';
import { createAkSkSigner } from '../../src/smn/signing/aksk-signer';
import { LoadSpec, runLoad } from './load';
import {
  PinnedChild,
  busyShare,
  canPin,
  coreTimes,
  freePort,
  killAllChildren,
  pinSelf,
  postgresTicks,
  procSample,
  spawnNode,
  stopChild,
  ticksSpent,
  ticksToMicros,
} from './processes';
import { formatSummary, summariseProfile } from './profile-summary';
import type { LockStats } from './lock-timing-preload';
import { ColdStart, OTHER_LOAD_WARNING, ScenarioResult, evaluateTargets, renderColdStarts, renderLockTable, renderTable, renderTargets } from './report';

/**
 * `npm run bench` (docs/performance.md): the SMN emulator, an undici pass-through baseline and the BFF in
 * production mode, each driven by autocannon for a bounded time, then one table with PASS/MISS per
 * target. docs/performance.md explains the layout and the figures.
 *
 * Environment (all optional):
 *   DATABASE_URL           adds the PostgreSQL-store phase; the database name must contain "bench" or
 *                          "test" (BENCH_ALLOW_ANY_DATABASE=1 to override): the bench writes audit rows.
 *   BENCH_DURATION=7       seconds measured per scenario     BENCH_WARMUP=2  seconds of warm-up before each
 *                          (7 s: with the 1-connection pass-through PUT and the template build, the whole
 *                          `npm run bench` with DATABASE_URL took 2 min 52 s at 8 s; 7 s keeps a margin under 3 min)
 *   BENCH_CONNECTIONS=50   connections of throughput scenarios
 *   BENCH_PROJECTS=50      projects the multi-project PUT rows spread over (ids derived from the index;
 *                          seeded in the emulator, configured in the BFF; requests rotate over them)
 *   BENCH_PROFILE=1        V8 CPU profile of the BFF during the measured window of its 50-connection scenarios
 *   BENCH_EMULATOR_CORE=1  core of the emulator (server core 0, load generator core 1)
 *   BENCH_SCENARIOS=a,b    run only these scenario ids (direct-get, pass-get, pass-get-1, pass-put, pass-put-1, bff-get,
 *                          bff-get-1, bff-put-postgres[-1], bff-put-pglite[-1] (one project),
 *                          bff-put-postgres-multi[-1], bff-put-pglite-multi[-1] (BENCH_PROJECTS projects));
 *                          targets without figures SKIP
 *   BENCH_DIST=path        benchmark another build of the app (default dist/; e.g. an experiment's copy)
 *   BENCH_BFF_<NAME>=v     passes <NAME>=v to the BFF (e.g. BENCH_BFF_UPSTREAM_MAX_SOCKETS=128)
 *   BENCH_MAX_SECONDS=175  hard stop   BENCH_STRICT=1  exit 2 on any MISS
 *   BENCH_KEEP_LOGS=1      also write the children's output under bench/results/<run>-logs/ (costs the
 *                          load generator's core some CPU; by default logs are read from a pipe and dropped)
 */

const ROOT = resolve(__dirname, '../../..');
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const PATH = `/v2/${DEMO_PROJECT_ID}/notifications/sms/callback`; // the single project of GET and the 1-project PUT rows
const SERVER_CORE = 0;
/** Each audit record is also logged as one structured line (README, Audit): how the bench sees audit is on. */
const AUDIT_LINE = '"msg":"audit record"';
const LOAD_CORE = 1;
/** The NODE_OPTIONS the image sets (Dockerfile `ENV NODE_OPTIONS=…`): the BFF is measured as deployed. */
const DEPLOYED_NODE_OPTIONS = existsSync(join(ROOT, 'Dockerfile'))
  ? /^ENV NODE_OPTIONS=(.+)$/m
      .exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1]
      ?.trim()
      .replace(/^"(.*)"$/, '$1')
  : undefined;

const env = process.env;
const settings = {
  durationSeconds: positive(env.BENCH_DURATION, 7),
  warmupSeconds: positive(env.BENCH_WARMUP, 2, true),
  connections: positive(env.BENCH_CONNECTIONS, 50),
  projects: Math.floor(positive(env.BENCH_PROJECTS, 50)),
  profile: env.BENCH_PROFILE === '1',
  emulatorCore: env.BENCH_EMULATOR_CORE === undefined ? LOAD_CORE : Number(env.BENCH_EMULATOR_CORE),
  only: env.BENCH_SCENARIOS ? new Set(env.BENCH_SCENARIOS.split(',').map((s) => s.trim())) : undefined,
  maxSeconds: positive(env.BENCH_MAX_SECONDS, 175),
  strict: env.BENCH_STRICT === '1',
  keepLogs: env.BENCH_KEEP_LOGS === '1',
  databaseUrl: env.DATABASE_URL || undefined,
  /** Another build than dist/ (the recorded git commit is then the work tree's, not the build's). */
  dist: env.BENCH_DIST ? resolve(env.BENCH_DIST) : undefined,
};

/** The seed example with three callbacks, as a frontend sends it (indented: ~400 bytes); URNs name `projectId`. */
const putBody = (projectId: string) =>
  JSON.stringify(
    {
      callback: [
        { event_type: 'sms_reply_event', topic_urn: `urn:smn:${DEMO_REGION}:${projectId}:${DEMO_TOPICS[0]}` },
        { event_type: 'sms_fail_event', topic_urn: `urn:smn:${DEMO_REGION}:${projectId}:${DEMO_TOPICS[1]}` },
        { event_type: 'sms_success_event', topic_urn: `urn:smn:${DEMO_REGION}:${projectId}:${DEMO_TOPICS[2]}` },
      ],
    },
    null,
    2,
  );
const PUT_BODY = putBody(DEMO_PROJECT_ID);
const pathOf = (projectId: string) => `/v2/${projectId}/notifications/sms/callback`;

/** The multi-project rows' projects: 32-hex ids derived from the index (stable across runs), same region. */
const BENCH_PROJECT_IDS = Array.from({ length: settings.projects }, (_, i) =>
  createHash('sha256').update(`sms-callback-bff bench project ${i}`).digest('hex').slice(0, 32),
);

const probe = new Agent({ pipelining: 0, connections: 4 });
const runId = new Date().toISOString().replace(/[:.]/g, '-');
const work = mkdtempSync(join(tmpdir(), 'sms-bff-bench-'));
const snapshot = join(RESULTS_DIR, `.dist-${process.pid}`);
const log = (message: string) => process.stderr.write(`[bench ${elapsed()}] ${message}\n`);
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0).padStart(3)}s`;

async function main(): Promise<number> {
  checkDatabaseUrl();
  const pinned = canPin() && cpus().length >= 2;
  if (pinned) pinSelf(LOAD_CORE);
  else log('taskset or a second core is missing: running unpinned, figures are less stable');
  const core = (c: number) => (pinned ? c : undefined);

  // Others rebuild dist/ while we run (nest build deletes it first): run every child from a copy.
  mkdirSync(RESULTS_DIR, { recursive: true });
  cpSync(settings.dist ?? join(ROOT, 'dist'), snapshot, { recursive: true });
  const loadBefore = loadavg();

  const emulatorPort = await freePort();
  const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;
  const emulator = spawnNode({
    name: 'emulator',
    core: core(settings.emulatorCore),
    nodeArgs: [join(snapshot, 'src/emulator/main.js')],
    env: {
      PATH: env.PATH,
      PORT: String(emulatorPort),
      HOST: '127.0.0.1',
      // Seeded (not added through /_emulator/topics): reset() goes back to the seed, topics included.
      EMULATOR_SEED: JSON.stringify({
        projects: [DEMO_PROJECT_ID, ...BENCH_PROJECT_IDS].map((projectId) => ({ projectId, region: DEMO_REGION, topics: [...DEMO_TOPICS] })),
      }),
    },
    logFile: keptLog('emulator'),
  });
  await waitForStatus(emulator, `${emulatorUrl}/_emulator/health`, {}, 200, 15_000);
  log(`emulator on ${emulatorUrl} (core ${settings.emulatorCore})`);

  // The baselines do not sign: the load generator sends requests signed once (valid for the 15 min skew).
  const signer = createAkSkSigner({ ak: DEMO_CREDENTIALS.ak, sk: DEMO_CREDENTIALS.sk });
  const presigned = (method: 'GET' | 'PUT', body?: string) => {
    const headers = { 'content-type': 'application/json', 'x-project-id': DEMO_PROJECT_ID };
    return { ...headers, ...signer({ method, url: `${emulatorUrl}${PATH}`, headers, body }) };
  };
  const signedGet = presigned('GET');
  const signedPut = presigned('PUT', PUT_BODY);

  const scenarios: ScenarioResult[] = [];
  const profiles: Array<{ scenario: string; file: string; summary: ReturnType<typeof summariseProfile> }> = [];
  const wanted = (id: string) => !settings.only || settings.only.has(id);
  const c = settings.connections;

  const measure = async (
    s: Pick<ScenarioResult, 'id' | 'title' | 'kind' | 'method' | 'store' | 'connections' | 'projects'>,
    load: Omit<LoadSpec, 'durationSeconds' | 'connections'>,
    server: PinnedChild,
    extra: { profileDir?: string; lockStatsUrl?: string } = {},
  ) => {
    const { profileDir, lockStatsUrl } = extra;
    if (!wanted(s.id)) return;
    log(`${s.title}: warm-up ${settings.warmupSeconds} s, then ${settings.durationSeconds} s at ${s.connections} connection(s)`);
    if (settings.warmupSeconds > 0) await runLoad({ ...load, connections: s.connections, durationSeconds: settings.warmupSeconds });
    const profiling = profileDir !== undefined;
    if (lockStatsUrl) await lockStats(lockStatsUrl, 'reset');
    if (profiling) server.process.kill('SIGUSR2');
    const serverBefore = procSample(server.pid);
    const emulatorBefore = procSample(emulator.pid);
    const coresBefore = coreTimes();
    const databaseBefore = s.store === 'postgres' ? postgresTicks() : undefined;
    let rss = serverBefore.rssBytes;
    const sampler = setInterval(() => {
      rss = Math.max(rss, procSample(server.pid).rssBytes);
    }, 200);
    const result = await runLoad({ ...load, connections: s.connections, durationSeconds: settings.durationSeconds });
    clearInterval(sampler);
    const lock = lockStatsUrl ? await lockStats(lockStatsUrl, 'read') : undefined;
    const serverAfter = procSample(server.pid);
    const emulatorAfter = procSample(emulator.pid);
    const coreBusy = busyShare(coresBefore, coreTimes());
    const databaseTicks = databaseBefore ? ticksSpent(databaseBefore, postgresTicks()) : undefined;
    rss = Math.max(rss, serverAfter.rssBytes);
    const n = result.requests || 1;
    const row: ScenarioResult = {
      ...s,
      requests: result.requests,
      rps: result.rps,
      p50: result.p50,
      p90: result.p90,
      p99: result.p99,
      max: result.max,
      errors: result.errors,
      statusCounts: result.statusCounts,
      serverCpuUs: ticksToMicros(serverAfter.cpuTicks - serverBefore.cpuTicks) / n,
      emulatorCpuUs: ticksToMicros(emulatorAfter.cpuTicks - emulatorBefore.cpuTicks) / n,
      databaseCpuUs: databaseTicks === undefined ? undefined : ticksToMicros(databaseTicks) / n,
      loadgenCpuUs: result.loadgenCpuUsPerRequest,
      rssMb: rss / 2 ** 20,
      coreBusy: pinned ? coreBusy.slice(0, 2) : coreBusy,
      otherLoad: 0,
      seconds: result.elapsedSeconds,
      lock,
    };
    // What the bench's own processes account for of the cores' busy time; the rest is someone else's.
    const ours =
      ticksToMicros(serverAfter.cpuTicks - serverBefore.cpuTicks) +
      (server.pid === emulator.pid ? 0 : ticksToMicros(emulatorAfter.cpuTicks - emulatorBefore.cpuTicks)) +
      result.loadgenCpuUsPerRequest * result.requests +
      (databaseTicks === undefined ? 0 : ticksToMicros(databaseTicks));
    row.otherLoad = Math.max(0, coreBusy.reduce((a, b) => a + b, 0) - ours / 1e6 / result.elapsedSeconds);
    scenarios.push(row);
    if (profiling) {
      server.process.kill('SIGUSR2');
      const file = await collectProfile(profileDir, s.id);
      row.profile = relative(ROOT, file);
      profiles.push({ scenario: s.id, file: row.profile, summary: summariseProfile(file) });
    }
    log(
      `  ${Math.round(row.rps)} req/s, p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms, ${row.errors} errors, ${Math.round(row.serverCpuUs)} µs CPU/req`,
    );
    if (lock?.held.count)
      log(`  project lock held p50 ${lock.held.p50Ms.toFixed(2)} ms (mean ${lock.held.meanMs.toFixed(2)}), waited p50 ${lock.wait.p50Ms.toFixed(2)} ms`);
    if (row.errors) log(`  status counts: ${JSON.stringify(row.statusCounts)}`);
  };

  // Baselines, against the same emulator.
  await measure(
    { id: 'direct-get', title: 'direct to emulator, GET', kind: 'direct', method: 'GET', connections: c },
    { url: `${emulatorUrl}${PATH}`, method: 'GET', headers: signedGet },
    emulator,
  );

  const passPort = await freePort();
  const passUrl = `http://127.0.0.1:${passPort}`;
  const pass = spawnNode({
    name: 'pass-through',
    core: core(SERVER_CORE),
    nodeArgs: [join(snapshot, 'scripts/bench/pass-through.js')],
    env: { PATH: env.PATH, PORT: String(passPort), UPSTREAM_URL: emulatorUrl },
    logFile: keptLog('pass-through'),
  });
  await waitForStatus(pass, `${passUrl}${PATH}`, signedGet, 200, 15_000);
  await measure(
    { id: 'pass-get', title: 'undici pass-through, GET', kind: 'pass-through', method: 'GET', connections: c },
    { url: `${passUrl}${PATH}`, method: 'GET', headers: signedGet },
    pass,
  );
  await measure(
    { id: 'pass-get-1', title: 'undici pass-through, GET', kind: 'pass-through', method: 'GET', connections: 1 },
    { url: `${passUrl}${PATH}`, method: 'GET', headers: signedGet },
    pass,
  );
  await resetEmulator(emulatorUrl);
  await expectStatus(`${passUrl}${PATH}`, 'PUT', signedPut, PUT_BODY, 200, 'pass-through PUT');
  await measure(
    { id: 'pass-put', title: 'undici pass-through, PUT', kind: 'pass-through', method: 'PUT', connections: c },
    { url: `${passUrl}${PATH}`, method: 'PUT', headers: signedPut, body: PUT_BODY },
    pass,
  );
  // The floor of a PUT's CPU: the BFF's CPU per PUT at 1 connection is compared with this.
  await measure(
    { id: 'pass-put-1', title: 'undici pass-through, PUT', kind: 'pass-through', method: 'PUT', connections: 1 },
    { url: `${passUrl}${PATH}`, method: 'PUT', headers: signedPut, body: PUT_BODY },
    pass,
  );
  await stopChild(pass);

  // The BFF, as deployed: PostgreSQL store first when configured (its GET, cold start and RSS carry targets).
  const apiKey = randomBytes(24).toString('base64url');
  const bffHeaders = { 'content-type': 'application/json', 'x-api-key': apiKey };
  const signingKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const stores: Array<'postgres' | 'pglite'> = settings.databaseUrl ? ['postgres', 'pglite'] : ['pglite'];
  const coldStarts: ColdStart[] = [];
  let features: Record<string, string> | undefined;

  for (const [index, store] of stores.entries()) {
    const dataDir = join(work, `data-${store}`);
    const bffPort = await freePort();
    const bffUrl = `http://127.0.0.1:${bffPort}`;
    const profileDir = settings.profile ? join(work, `profiles-${store}`) : undefined;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const lockStatsPort = await freePort();
    const lockStatsUrl = `http://127.0.0.1:${lockStatsPort}`;
    // Its own, chosen here: the default 9464 may be held by a BFF already running on this machine.
    const metricsPort = await freePort();
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const start = () =>
      startBff({
        store,
        dataDir,
        port: bffPort,
        emulatorUrl,
        apiKey,
        signingKey,
        core: core(SERVER_CORE),
        profileDir,
        lockStatsPort,
        metricsPort,
        logFile: keptLog(`bff-${store}`),
      });

    let bff = start();
    const cold = await waitForStatus(bff, `${bffUrl}${PATH}`, bffHeaders, 200, 60_000);
    coldStarts.push({ store, note: store === 'pglite' ? 'new data dir' : '', coldStartMs: cold, idleRssMb: await idleRss(bff) });
    log(`BFF (${store}) answered 200 after ${(cold / 1000).toFixed(2)} s`);

    const label = store === 'postgres' ? 'PostgreSQL' : 'PGlite';
    if (index === 0) {
      await measure(
        { id: 'bff-get', title: `BFF, GET (${label} up)`, kind: 'bff', method: 'GET', store, connections: c },
        { url: `${bffUrl}${PATH}`, method: 'GET', headers: bffHeaders },
        bff,
        { profileDir },
      );
      await measure(
        { id: 'bff-get-1', title: `BFF, GET (${label} up)`, kind: 'bff', method: 'GET', store, connections: 1 },
        { url: `${bffUrl}${PATH}`, method: 'GET', headers: bffHeaders },
        bff,
      );
    }
    // One project: its PUTs are serial by design (project lock). Then the same PUT rotated over many projects.
    const one = `BFF, PUT 1 project, audit on ${label}`;
    const many = `BFF, PUT ${settings.projects} projects, audit on ${label}`;
    if (wanted(`bff-put-${store}`) || wanted(`bff-put-${store}-1`)) {
      await resetEmulator(emulatorUrl);
      await expectStatus(`${bffUrl}${PATH}`, 'PUT', bffHeaders, PUT_BODY, 200, `BFF PUT (${store})`);
      features ??= await detectFeatures(bffUrl, metricsUrl, bffHeaders, bff);
    }
    const put = { url: `${bffUrl}${PATH}`, method: 'PUT' as const, headers: bffHeaders, body: PUT_BODY };
    const timed = { profileDir, lockStatsUrl };
    await measure({ id: `bff-put-${store}`, title: one, kind: 'bff', method: 'PUT', store, connections: c, projects: 1 }, put, bff, timed);
    await measure({ id: `bff-put-${store}-1`, title: one, kind: 'bff', method: 'PUT', store, connections: 1, projects: 1 }, put, bff, { lockStatsUrl });
    if (wanted(`bff-put-${store}-multi`) || wanted(`bff-put-${store}-multi-1`)) {
      await resetEmulator(emulatorUrl);
      const first = BENCH_PROJECT_IDS[0];
      await expectStatus(`${bffUrl}${pathOf(first)}`, 'PUT', bffHeaders, putBody(first), 200, `BFF PUT to a bench project (${store})`);
      features ??= await detectFeatures(bffUrl, metricsUrl, bffHeaders, bff);
    }
    const rotate = BENCH_PROJECT_IDS.map((id) => ({ path: pathOf(id), body: putBody(id) }));
    const putMany = { ...put, rotate };
    const n = settings.projects;
    await measure({ id: `bff-put-${store}-multi`, title: many, kind: 'bff', method: 'PUT', store, connections: c, projects: n }, putMany, bff, timed);
    await measure({ id: `bff-put-${store}-multi-1`, title: many, kind: 'bff', method: 'PUT', store, connections: 1, projects: n }, putMany, bff, {
      lockStatsUrl,
    });
    await stopChild(bff);

    if (store === 'pglite') {
      // A restart on the existing data directory: what a redeploy pays.
      bff = start();
      const reopen = await waitForStatus(bff, `${bffUrl}${PATH}`, bffHeaders, 200, 60_000);
      coldStarts.push({ store, note: 'existing data dir', coldStartMs: reopen, idleRssMb: await idleRss(bff) });
      await stopChild(bff);
    }
  }
  await stopChild(emulator);

  const passBy = (method: string) => scenarios.find((s) => s.id === (method === 'GET' ? 'pass-get' : 'pass-put'));
  for (const s of scenarios) {
    const base = s.connections === 1 ? scenarios.find((b) => b.id === (s.method === 'GET' ? 'pass-get-1' : 'pass-put-1')) : passBy(s.method);
    if (base && base !== s) s.vsPassThrough = s.rps / base.rps;
  }
  const targets = evaluateTargets({ scenarios, coldStarts, databaseUrlSet: !!settings.databaseUrl, auditOn: features?.audit === 'on' });
  const invalid = scenarios.filter((s) => s.errors > 0);

  const out: string[] = [];
  out.push('');
  out.push(`sms-callback-bff benchmark ${runId}`);
  out.push(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, Linux ${release()}; load avg before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`,
  );
  out.push(
    `layout: ${pinned ? `server core ${SERVER_CORE}, load generator core ${LOAD_CORE}, emulator core ${settings.emulatorCore}` : 'unpinned'}; ${settings.durationSeconds} s per scenario after ${settings.warmupSeconds} s warm-up; PUT body ${Buffer.byteLength(PUT_BODY)} bytes`,
  );
  out.push(
    `BFF: NODE_ENV=production, NODE_OPTIONS=${DEPLOYED_NODE_OPTIONS ?? '(none)'} (the image's), LOG_LEVEL=info (JSON lines to a pipe the harness drains), upstream client as built; features: ${Object.entries(
      features ?? {},
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  if (settings.dist) out.push(`build under test: ${settings.dist}`);
  const passedToBff = Object.keys(env).filter((name) => name.startsWith('BENCH_BFF_'));
  if (passedToBff.length) out.push(`passed to the BFF: ${passedToBff.map((name) => `${name.slice('BENCH_BFF_'.length)}=${env[name]}`).join(' ')}`);
  out.push('');
  out.push(renderTable(scenarios));
  out.push('');
  if (scenarios.some((s) => s.lock?.held.count)) {
    out.push(renderLockTable(scenarios));
    out.push('');
  }
  out.push(renderColdStarts(coldStarts));
  out.push('');
  out.push('targets (docs/performance.md; ratios to the in-run undici pass-through):');
  out.push(renderTargets(targets));
  for (const p of profiles) {
    out.push('');
    out.push(`CPU profile of ${p.scenario} (${p.file}):`);
    out.push(formatSummary({ ...p.summary, frames: p.summary.frames.slice(0, 15) }, 12));
  }
  const disturbed = scenarios.filter((s) => s.otherLoad > OTHER_LOAD_WARNING);
  if (disturbed.length) {
    out.push('');
    out.push(
      `! other processes used the cores during ${disturbed.map((s) => `${s.id} (${Math.round(s.otherLoad * 100)}% of a core)`).join(', ')}: those figures are disturbed; compare CPU µs/req, or rerun on a quiet machine`,
    );
  }
  out.push('');
  out.push(invalid.length ? `INVALID RUN: errors in ${invalid.map((s) => s.id).join(', ')}` : 'valid run: 0 errors in every scenario');

  const file = join(RESULTS_DIR, `${runId}.json`);
  const loadAfter = loadavg();
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        runId,
        date: new Date().toISOString(),
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, kernel: release(), loadavgBefore: loadBefore, loadavgAfter: loadAfter },
        git: gitState(),
        settings: { ...settings, only: settings.only ? [...settings.only] : undefined, databaseUrl: settings.databaseUrl ? '(set)' : undefined },
        layout: pinned ? { serverCore: SERVER_CORE, loadCore: LOAD_CORE, emulatorCore: settings.emulatorCore } : 'unpinned',
        features,
        putBodyBytes: Buffer.byteLength(PUT_BODY),
        benchProjects: BENCH_PROJECT_IDS.length,
        passedToBff: Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith('BENCH_BFF_'))),
        scenarios,
        coldStarts,
        targets,
        profiles,
        valid: invalid.length === 0,
        wallSeconds: (performance.now() - started) / 1000,
      },
      null,
      2,
    )}\n`,
  );
  out.push(`results: ${relative(ROOT, file)} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
  if (settings.keepLogs) log(`logs kept in ${relative(ROOT, join(RESULTS_DIR, `${runId}-logs`))}`);
  if (invalid.length) return 1;
  return settings.strict && targets.some((t) => t.verdict === 'MISS') ? 2 : 0;
}

interface BffStart {
  store: 'postgres' | 'pglite';
  dataDir: string;
  port: number;
  emulatorUrl: string;
  apiKey: string;
  signingKey: string;
  core?: number;
  profileDir?: string;
  lockStatsPort: number;
  metricsPort: number;
  logFile?: string;
}

function startBff(o: BffStart): PinnedChild {
  const preloads = [
    ...(o.profileDir ? ['--require', join(snapshot, 'scripts/bench/cpu-profile-preload.js')] : []),
    '--require',
    join(snapshot, 'scripts/bench/lock-timing-preload.js'),
  ];
  const passed: Record<string, string | undefined> = Object.fromEntries(
    Object.entries(env)
      .filter(([name]) => name.startsWith('BENCH_BFF_'))
      .map(([name, value]) => [name.slice('BENCH_BFF_'.length), value]),
  );
  return spawnNode({
    name: `bff-${o.store}`,
    core: o.core,
    nodeArgs: [...preloads, join(snapshot, 'src/main.js')],
    cwd: ROOT,
    logFile: o.logFile,
    watch: [AUDIT_LINE],
    env: {
      PATH: env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(o.port),
      METRICS_PORT: String(o.metricsPort),
      LOG_LEVEL: 'info',
      SMN_EMULATOR: 'false',
      SMN_PROJECTS: [DEMO_PROJECT_ID, ...BENCH_PROJECT_IDS].map((id) => `${id}=${DEMO_REGION}`).join(','),
      SMN_ENDPOINTS: `${DEMO_REGION}=${o.emulatorUrl}`,
      SMN_ACCESS_KEY: DEMO_CREDENTIALS.ak,
      SMN_SECRET_KEY: DEMO_CREDENTIALS.sk,
      AUTH_API_KEYS: JSON.stringify([
        {
          name: 'bench',
          sha256: createHash('sha256').update(o.apiKey).digest('hex'),
          scopes: ['sms-callback:read', 'sms-callback:write'],
          projects: '*',
        },
      ]),
      // Never limited; the window is the default 60 s (the fixed-window store is O(1) per request, so the
      // window length no longer changes the cost: docs/performance.md). BENCH_BFF_RATE_LIMIT_TTL_MS to vary it.
      RATE_LIMIT_CALLER_LIMIT: '100000000',
      DATA_DIR: o.dataDir,
      AUDIT_SIGNING_KEY: o.signingKey,
      ...(o.store === 'postgres' ? { DATABASE_URL: settings.databaseUrl } : {}),
      ...(o.profileDir ? { BENCH_CPU_PROFILE_DIR: o.profileDir } : {}),
      BENCH_LOCK_STATS_PORT: String(o.lockStatsPort),
      // As deployed: the image's V8 flags (Dockerfile), unless BENCH_BFF_NODE_OPTIONS says otherwise.
      NODE_OPTIONS: DEPLOYED_NODE_OPTIONS,
      ...passed,
    },
  });
}

/** Polls until `url` answers `status`; returns ms since the child was spawned. */
async function waitForStatus(child: PinnedChild, url: string, headers: Record<string, string>, status: number, timeoutMs: number): Promise<number> {
  let last = 'no answer';
  while (performance.now() - child.spawnedAt < timeoutMs) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) break;
    try {
      const answer = await request(url, { dispatcher: probe, headers });
      const text = await answer.body.text();
      if (answer.statusCode === status) return performance.now() - child.spawnedAt;
      last = `${answer.statusCode} ${text.slice(0, 300)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(10);
  }
  throw new Error(`${child.name} did not answer ${status} on ${url} (last: ${last}); its output:\n${child.output.tail()}`);
}

async function expectStatus(url: string, method: 'PUT', headers: Record<string, string>, body: string, status: number, what: string): Promise<void> {
  const answer = await request(url, { dispatcher: probe, method, headers, body });
  const text = await answer.body.text();
  if (answer.statusCode !== status) throw new Error(`${what} answered ${answer.statusCode}, expected ${status}: ${text.slice(0, 500)}`);
}

/** The BFF's lock-timing preload: reset before a window, read after it. */
async function lockStats(url: string, what: 'reset' | 'read'): Promise<LockStats> {
  const answer = await request(`${url}/${what === 'reset' ? 'reset' : 'stats'}`, { dispatcher: probe, method: what === 'reset' ? 'POST' : 'GET' });
  const text = await answer.body.text();
  if (answer.statusCode !== 200) throw new Error(`lock stats ${what} answered ${answer.statusCode}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as LockStats;
}

async function resetEmulator(emulatorUrl: string): Promise<void> {
  const answer = await request(`${emulatorUrl}/_emulator/reset`, { dispatcher: probe, method: 'POST' });
  await answer.body.dump();
  if (answer.statusCode !== 204) throw new Error(`emulator reset answered ${answer.statusCode}`);
}

/** What the running BFF has wired, seen from outside (features land during the hour). Call after one PUT. */
async function detectFeatures(bffUrl: string, metricsUrl: string, headers: Record<string, string>, bff: PinnedChild): Promise<Record<string, string>> {
  const statusAt = async (url: string, h: Record<string, string>) => {
    try {
      const answer = await request(url, { dispatcher: probe, headers: h });
      await answer.body.dump();
      return answer.statusCode;
    } catch {
      return 'no listener';
    }
  };
  const status = (path: string, h: Record<string, string>) => statusAt(`${bffUrl}${path}`, h);
  const anonymous = await status(PATH, { 'content-type': 'application/json' });
  const audit = await status(`/audit/events?project_id=${DEMO_PROJECT_ID}`, headers);
  // On their own port (METRICS_PORT) in current builds, on the public one in builds from before it.
  const ownPort = await statusAt(metricsUrl, {});
  const publicPort = ownPort === 200 ? undefined : await status('/metrics', {});
  return {
    auth: anonymous === 401 ? 'on' : `off (${anonymous} without a key)`,
    // Each audit record is also logged as one structured line (README, Audit).
    audit: bff.output.saw(AUDIT_LINE) ? 'on' : audit === 404 ? 'off (no audit record logged)' : 'on',
    auditQueryApi: audit === 404 ? 'off' : 'on',
    metrics: ownPort === 200 ? 'on (metrics port)' : publicPort === 200 ? 'on (public port)' : `off (metrics port: ${ownPort}, public /metrics: ${publicPort})`,
  };
}

async function idleRss(child: PinnedChild): Promise<number> {
  await sleep(1000);
  return procSample(child.pid).rssBytes / 2 ** 20;
}

async function collectProfile(dir: string, id: string): Promise<string> {
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    const windows = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    if (windows.length) {
      mkdirSync(join(RESULTS_DIR, 'profiles'), { recursive: true });
      const target = join(RESULTS_DIR, 'profiles', `${runId}-${id}.cpuprofile`);
      renameSync(join(dir, windows[0]), target);
      return target;
    }
    await sleep(50);
  }
  throw new Error(`no CPU profile written for ${id}`);
}

function checkDatabaseUrl(): void {
  if (!settings.databaseUrl || env.BENCH_ALLOW_ANY_DATABASE === '1') return;
  const name = URL.canParse(settings.databaseUrl) ? new URL(settings.databaseUrl).pathname.slice(1) : '';
  if (!/bench|test/i.test(name)) {
    throw new Error(
      `DATABASE_URL names database "${name}": the bench writes audit rows, so its name must contain "bench" or "test" (or set BENCH_ALLOW_ANY_DATABASE=1)`,
    );
  }
}

function gitState(): { commit?: string; dirty?: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return {};
  }
}

function positive(value: string | undefined, fallback: number, allowZero = false): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new Error(`expected a positive number, got "${value}"`);
  return n;
}

/** With BENCH_KEEP_LOGS=1, children's output is also written under bench/results/<run>-logs/. */
function keptLog(name: string): string | undefined {
  if (!settings.keepLogs) return undefined;
  const dir = join(RESULTS_DIR, `${runId}-logs`);
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.log`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function cleanUp(): void {
  killAllChildren();
  rmSync(snapshot, { recursive: true, force: true });
  if (existsSync(work)) rmSync(work, { recursive: true, force: true });
}

process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    process.exit(130);
  });
}
const watchdog = setTimeout(() => {
  log(`still running after BENCH_MAX_SECONDS=${settings.maxSeconds}: giving up`);
  process.exit(3);
}, settings.maxSeconds * 1000);

main().then(
  (code) => {
    clearTimeout(watchdog);
    void probe.close();
    process.exit(code);
  },
  (error: unknown) => {
    log(`failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
