import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ScenarioResult } from './report';

/**
 * Compares two runs of `npm run bench`, scenario by scenario.
 * `node dist/scripts/bench/compare-results.js [before.json] [after.json]`; without arguments, the two
 * newest files in bench/results/. "other load" (CPU of processes outside the bench) tells whether a
 * difference can be trusted.
 */

interface Run {
  runId: string;
  git?: { commit?: string; dirty?: boolean };
  features?: Record<string, string>;
  scenarios: ScenarioResult[];
}

function main(): void {
  let [before, after] = process.argv.slice(2);
  if (!before || !after) {
    const dir = resolve(__dirname, '../../../bench/results');
    const runs = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    if (runs.length < 2) throw new Error('need two result files in bench/results/');
    [before, after] = [join(dir, runs[runs.length - 2]), join(dir, runs[runs.length - 1])];
  }
  const a = JSON.parse(readFileSync(before, 'utf8')) as Run;
  const b = JSON.parse(readFileSync(after, 'utf8')) as Run;
  const what = (r: Run) => `${r.runId} (commit ${r.git?.commit?.slice(0, 7) ?? '?'}${r.git?.dirty ? '+' : ''})`;
  const lines = [`before ${what(a)}  →  after ${what(b)}`, ''];
  const change = (x: number, y: number) => (x ? `${y >= x ? '+' : ''}${(((y - x) / x) * 100).toFixed(1)}%` : '');
  const rows = [['scenario', 'conns', 'req/s', 'Δ', 'p50 ms', 'Δ', 'CPU µs/req', 'Δ', 'RSS MB', 'other load']];
  const other = (x: ScenarioResult) => (x.otherLoad === undefined ? '?' : `${Math.round(x.otherLoad * 100)}%`);
  for (const s of b.scenarios) {
    const o = a.scenarios.find((x) => x.id === s.id);
    if (!o) continue;
    rows.push([
      s.title,
      String(s.connections),
      `${Math.round(o.rps)} → ${Math.round(s.rps)}`,
      change(o.rps, s.rps),
      `${o.p50.toFixed(2)} → ${s.p50.toFixed(2)}`,
      change(o.p50, s.p50),
      `${Math.round(o.serverCpuUs)} → ${Math.round(s.serverCpuUs)}`,
      change(o.serverCpuUs, s.serverCpuUs),
      `${Math.round(o.rssMb)} → ${Math.round(s.rssMb)}`,
      `${other(o)} → ${other(s)}`,
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  lines.push(...rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')));
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();
