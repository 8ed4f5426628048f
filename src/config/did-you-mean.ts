/**
 * Edit distance with adjacent transpositions (optimal string alignment): `SMN_AUTH_MDOE` is one edit from
 * `SMN_AUTH_MODE`, as a typist sees it.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate that was meant by `word`: one it cuts short (`RATE_LIMIT_CALLER` → `RATE_LIMIT_CALLER_LIMIT`,
 * `prod` → `production`), else the closest one with about a quarter of it mistyped at most.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const all = [...candidates];
  const extended = all.filter((candidate) => word && candidate.startsWith(word)).sort((a, b) => a.length - b.length);
  if (extended.length) return extended[0];
  const limit = Math.max(2, Math.floor(word.length / 4));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of all) {
    const distance = editDistance(word, candidate);
    if (distance <= limit && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}
