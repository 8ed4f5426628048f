/** The benchmark's one printed table, its targets (docs/performance.md) and their PASS/MISS verdicts. */
import type { LockStats } from './lock-timing-preload';

export interface ScenarioResult {
  id: string;
  title: string;
  kind: 'direct' | 'pass-through' | 'bff';
  method: 'GET' | 'PUT';
  store?: 'postgres' | 'pglite';
  connections: number;
  /** PUT rows: how many projects the requests rotate over (1: all to the demo project). */
  projects?: number;
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  statusCounts: Record<string, number>;
  /** CPU µs per request of the process under test (emulator for direct, proxy, or BFF). */
  serverCpuUs: number;
  /** Emulator's CPU µs per request of the load (two upstream calls per audited PUT). */
  emulatorCpuUs: number;
  /** All local PostgreSQL server processes, µs per request (PostgreSQL store only). */
  databaseCpuUs?: number;
  loadgenCpuUs: number;
  /** Peak RSS of the process under test during the measured window. */
  rssMb: number;
  /** Busy share of each core during the window (everything on the machine). */
  coreBusy: number[];
  /**
   * CPU used during the window by processes that are not part of the bench (in cores: 0.3 = 30% of one
   * core): busy time of both cores minus server, emulator, load generator and PostgreSQL. Above 0.1 the
   * machine was shared and the row's figures are disturbed.
   */
  otherLoad: number;
  seconds: number;
  /** rps relative to the pass-through at the same method (50 connections). */
  vsPassThrough?: number;
  profile?: string;
  /** BFF PUT rows: the per-project lock and the chain appends, timed inside the BFF (lock-timing-preload). */
  lock?: LockStats;
}

export interface ColdStart {
  store: string;
  note: string;
  /** Spawn → first 200 on GET, ms. */
  coldStartMs: number;
  idleRssMb: number;
}

export type Verdict = 'PASS' | 'MISS' | 'SKIP';

export interface TargetResult {
  name: string;
  verdict: Verdict;
  measured: string;
  limit: string;
}

/** Other processes' CPU (in cores) above which a row is flagged as disturbed. */
export const OTHER_LOAD_WARNING = 0.1;

const f0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');

export function renderTable(rows: ScenarioResult[]): string {
  const header = [
    'scenario',
    'conns',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'CPU µs/req',
    'RSS MB',
    'vs pass-through',
    'upstream µs/req',
    'PostgreSQL µs/req',
    'core0/core1 busy',
    'other load',
  ];
  const body = rows.map((r) => [
    r.title,
    String(r.connections),
    f0(r.rps),
    f2(r.p50),
    f2(r.p99),
    String(r.errors),
    f0(r.serverCpuUs),
    f0(r.rssMb),
    r.vsPassThrough === undefined ? '' : `${(r.vsPassThrough * 100).toFixed(1)}%`,
    r.kind === 'direct' ? '(is upstream)' : f0(r.emulatorCpuUs),
    r.databaseCpuUs === undefined ? '' : f0(r.databaseCpuUs),
    r.coreBusy.map((b) => `${Math.round(b * 100)}%`).join(' / '),
    `${Math.round(r.otherLoad * 100)}%${r.otherLoad > OTHER_LOAD_WARNING ? ' !' : ''}`,
  ]);
  return table(header, body, [false, ...header.slice(1).map(() => true)]);
}

/**
 * Where a PUT's time goes under the locks. "lock busy" = Σ held / window / projects: 100% means each
 * project's lock was never free, i.e. throughput = projects / mean held time.
 */
export function renderLockTable(rows: ScenarioResult[]): string {
  const timed = rows.filter((r) => r.lock?.held.count);
  const header = [
    'PUT scenario',
    'conns',
    'req/s',
    'lock held p50 / mean / p99 ms',
    'lock wait p50 / p99 ms',
    'locks held at once',
    'lock busy per project',
    'chain append p50 / mean ms',
    'appends at once',
  ];
  const body = timed.map((r) => {
    const l = r.lock!;
    return [
      r.title,
      String(r.connections),
      f0(r.rps),
      `${f2(l.held.p50Ms)} / ${f2(l.held.meanMs)} / ${f2(l.held.p99Ms)}`,
      `${f2(l.wait.p50Ms)} / ${f2(l.wait.p99Ms)}`,
      f2(l.held.concurrency),
      `${Math.round((l.held.concurrency / Math.min(r.projects ?? 1, r.connections)) * 100)}%`,
      `${f2(l.finalize.p50Ms)} / ${f2(l.finalize.meanMs)}`,
      f2(l.finalize.concurrency),
    ];
  });
  return table(header, body, [false, ...header.slice(1).map(() => true)]);
}

export function renderColdStarts(rows: ColdStart[]): string {
  return table(
    ['store', 'cold start (spawn → first 200 GET)', 'idle RSS MB'],
    rows.map((r) => [`${r.store}${r.note ? ` (${r.note})` : ''}`, `${(r.coldStartMs / 1000).toFixed(2)} s`, f0(r.idleRssMb)]),
    [false, true, true],
  );
}

export function renderTargets(targets: TargetResult[]): string {
  return targets.map((t) => `  ${t.verdict.padEnd(4)}  ${t.name.padEnd(62)} ${t.measured}  (target ${t.limit})`).join('\n');
}

export interface TargetInputs {
  scenarios: ScenarioResult[];
  coldStarts: ColdStart[];
  databaseUrlSet: boolean;
  auditOn: boolean;
}

/** The performance targets (docs/performance.md); none is weakened when missed. */
export function evaluateTargets({ scenarios, coldStarts, databaseUrlSet, auditOn }: TargetInputs): TargetResult[] {
  const find = (id: string) => scenarios.find((s) => s.id === id);
  const targets: TargetResult[] = [];
  const audit = auditOn ? 'audit' : 'audit not wired yet';
  const ratio = (name: string, id: string, baseId: string, min: number, skip?: string) => {
    const s = find(id);
    const base = find(baseId);
    if (skip || !s || !base) return targets.push({ name, verdict: 'SKIP', measured: skip ?? 'not measured', limit: `≥ ${min * 100}%` });
    const r = s.rps / base.rps;
    targets.push({
      name,
      verdict: r >= min ? 'PASS' : 'MISS',
      measured: `${(r * 100).toFixed(1)}% (${f0(s.rps)} / ${f0(base.rps)} req/s)`,
      limit: `≥ ${min * 100}%`,
    });
  };
  const p50Under = (name: string, id: string, limitMs: number, limitText: string, skip?: string) => {
    const s = find(id);
    if (skip || !s) return targets.push({ name, verdict: 'SKIP', measured: skip ?? 'not measured', limit: limitText });
    targets.push({ name, verdict: s.p50 <= limitMs ? 'PASS' : 'MISS', measured: `p50 ${f2(s.p50)} ms`, limit: limitText });
  };
  const noPg = databaseUrlSet ? undefined : 'DATABASE_URL not set';
  const under = (name: string, value: number | undefined, limit: number, unit: string, text: string, skip?: string) => {
    if (skip || value === undefined || !Number.isFinite(value))
      return targets.push({ name, verdict: 'SKIP', measured: skip ?? 'not measured', limit: `≤ ${limit} ${unit}` });
    targets.push({ name, verdict: value <= limit ? 'PASS' : 'MISS', measured: text, limit: `≤ ${limit} ${unit}` });
  };

  ratio('GET req/s vs pass-through (50 conns)', 'bff-get', 'pass-get', 0.35);
  const passP50 = find('pass-get-1')?.p50 ?? NaN;
  p50Under('GET p50 at 1 connection', 'bff-get-1', passP50 + 0.4, `≤ pass-through p50 ${f2(passP50)} + 0.4 ms`);
  // Each PUT target on the single-project rows (serial by design: the project lock) and on the
  // multi-project rows (requests rotating over BENCH_PROJECTS projects).
  const many = find('bff-put-pglite-multi')?.projects ?? find('bff-put-postgres-multi')?.projects ?? '?';
  for (const [suffix, what] of [
    ['', '1 project'],
    ['-multi', `${many} projects`],
  ] as const) {
    ratio(`PUT ${what} (${audit}, PGlite) req/s vs pass-through PUT`, `bff-put-pglite${suffix}`, 'pass-put', 0.15);
    ratio(`PUT ${what} (${audit}, PostgreSQL) req/s vs pass-through PUT`, `bff-put-postgres${suffix}`, 'pass-put', 0.15, noPg);
    p50Under(`PUT ${what} (${audit}, PGlite) p50 at 1 connection`, `bff-put-pglite${suffix}-1`, 3, '≤ 3 ms');
    p50Under(`PUT ${what} (${audit}, PostgreSQL) p50 at 1 connection`, `bff-put-postgres${suffix}-1`, 3, '≤ 3 ms', noPg);
  }

  // CPU per PUT against the pass-through's PUT, both at 1 connection: the BFF's work beyond forwarding.
  const passPut1 = find('pass-put-1');
  const pgPut1 = find('bff-put-postgres-1');
  const cpuRatio = passPut1 && pgPut1 ? pgPut1.serverCpuUs / passPut1.serverCpuUs : undefined;
  under(
    `BFF CPU per PUT (${audit}, PostgreSQL, 1 conn) vs pass-through PUT`,
    cpuRatio,
    8,
    '×',
    `${f2(cpuRatio ?? NaN)}× (${f0(pgPut1?.serverCpuUs ?? NaN)} / ${f0(passPut1?.serverCpuUs ?? NaN)} µs)`,
    noPg,
  );
  for (const [store, label, skip] of [
    ['postgres', 'PostgreSQL', noPg],
    ['pglite', 'PGlite', undefined],
  ] as const) {
    const held = find(`bff-put-${store}-1`)?.lock?.held;
    under(`project lock held p50 (1 project, 1 conn, ${label})`, held?.count ? held.p50Ms : undefined, 2, 'ms', `p50 ${f2(held?.p50Ms ?? NaN)} ms`, skip);
  }
  const append1 = find('bff-put-postgres-1')?.lock?.finalize;
  under('chain append p50 (PostgreSQL, 1 conn)', append1?.count ? append1.p50Ms : undefined, 0.7, 'ms', `p50 ${f2(append1?.p50Ms ?? NaN)} ms`, noPg);
  const appendMany = find('bff-put-postgres-multi')?.lock?.finalize;
  under(
    `chain append mean (PostgreSQL, ${many} projects, 50 conns)`,
    appendMany?.count ? appendMany.meanMs : undefined,
    3,
    'ms',
    `mean ${f2(appendMany?.meanMs ?? NaN)} ms`,
    noPg,
  );

  const pgCold = coldStarts.find((c) => c.store === 'postgres');
  under('cold start, PostgreSQL store', pgCold ? pgCold.coldStartMs / 1000 : undefined, 1.5, 's', `${f2((pgCold?.coldStartMs ?? NaN) / 1000)} s`, noPg);
  const pgRss = scenarios.filter((s) => s.kind === 'bff' && s.store === 'postgres').map((s) => s.rssMb);
  const pgPeak = pgRss.length ? Math.max(...pgRss) : undefined;
  under('RSS under load, PostgreSQL store', pgPeak, 200, 'MB', `${f0(pgPeak ?? NaN)} MB peak`, noPg);

  const pgliteFirst = coldStarts.find((c) => c.store === 'pglite' && c.note === 'new data dir');
  const pgliteAgain = coldStarts.find((c) => c.store === 'pglite' && c.note === 'existing data dir');
  under(
    'embedded PGlite: first start (new data dir)',
    pgliteFirst ? pgliteFirst.coldStartMs / 1000 : undefined,
    3,
    's',
    `${f2((pgliteFirst?.coldStartMs ?? NaN) / 1000)} s`,
  );
  under(
    'embedded PGlite: restart (existing data dir)',
    pgliteAgain ? pgliteAgain.coldStartMs / 1000 : undefined,
    1.5,
    's',
    `${f2((pgliteAgain?.coldStartMs ?? NaN) / 1000)} s`,
  );
  const pglitePutRss = scenarios.filter((s) => s.kind === 'bff' && s.store === 'pglite' && s.method === 'PUT').map((s) => s.rssMb);
  const pglitePeak = pglitePutRss.length ? Math.max(...pglitePutRss) : undefined;
  under('embedded PGlite: RSS under PUT load', pglitePeak, 400, 'MB', `${f0(pglitePeak ?? NaN)} MB peak`);
  return targets;
}

function table(header: string[], rows: string[][], rightAlign: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (rightAlign[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
