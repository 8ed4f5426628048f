import { readFileSync } from 'node:fs';

/**
 * Self time of a V8 .cpuprofile, by function and by package.
 * CLI: `node dist/scripts/bench/profile-summary.js <file.cpuprofile> [top]`.
 */

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time without idle, ms. */
  busyMs: number;
  idleMs: number;
  frames: Array<{ frame: string; where: string; selfMs: number; share: number }>;
  /** Time with the function on the stack (each sample counted once per function), outside Node core. */
  inclusive: Array<{ frame: string; where: string; totalMs: number; share: number }>;
  packages: Array<{ name: string; selfMs: number; share: number }>;
}

export function summariseProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const frames = new Map<string, { frame: string; where: string; micros: number }>();
  const packages = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (const [id, micros] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idle += micros;
      continue;
    }
    busy += micros;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const entry = frames.get(key) ?? { frame: functionName || '(anonymous)', where, micros: 0 };
    entry.micros += micros;
    frames.set(key, entry);
    const pkg = packageOf(url, functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + micros);
  }
  const share = (micros: number) => (busy ? micros / busy : 0);

  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = new Map<string, { frame: string; where: string; micros: number }>();
  profile.samples.forEach((id, i) => {
    if (byId.get(id)?.callFrame.functionName === '(idle)') return;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      if (!url || url.startsWith('node:') || !functionName) continue;
      const where = `${shortUrl(url)}:${lineNumber + 1}`;
      const key = `${functionName}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = totals.get(key) ?? { frame: functionName, where, micros: 0 };
      entry.micros += profile.timeDeltas[i] ?? 0;
      totals.set(key, entry);
    }
  });
  return {
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    frames: [...frames.values()]
      .sort((a, b) => b.micros - a.micros)
      .slice(0, top)
      .map((f) => ({ frame: f.frame, where: f.where, selfMs: f.micros / 1000, share: share(f.micros) })),
    inclusive: [...totals.values()]
      .sort((a, b) => b.micros - a.micros)
      .slice(0, top)
      .map((f) => ({ frame: f.frame, where: f.where, totalMs: f.micros / 1000, share: share(f.micros) })),
    packages: [...packages].sort((a, b) => b[1] - a[1]).map(([name, micros]) => ({ name, selfMs: micros / 1000, share: share(micros) })),
  };
}

export function formatSummary(summary: ProfileSummary, topPackages = 15): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  const lines = [`  busy ${summary.busyMs.toFixed(0)} ms sampled (idle ${summary.idleMs.toFixed(0)} ms)`, '  top self-time frames:'];
  for (const f of summary.frames) lines.push(`    ${pct(f.share)}  ${f.frame}  ${f.where}`);
  lines.push('  inclusive (on the stack), named functions outside Node core:');
  for (const f of summary.inclusive) lines.push(`    ${pct(f.share)}  ${f.frame}  ${f.where}`);
  lines.push('  self time by package:');
  for (const p of summary.packages.slice(0, topPackages)) lines.push(`    ${pct(p.share)}  ${p.name}`);
  return lines.join('\n');
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const dist = url.search(/\/(src|scripts)\//);
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native/V8 builtins)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node: (core)';
  const app = /\/(src|scripts)\/([^/]+)/.exec(url);
  return app ? `app: ${app[1]}/${app[2]}` : url;
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/scripts/bench/profile-summary.js <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(summariseProfile(file, Number(top ?? 25)))}\n`);
}
