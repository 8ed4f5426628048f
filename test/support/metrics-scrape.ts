/** Scraping a BFF's metrics listener (METRICS_PORT) as Prometheus does, and reading samples out of the text. */

/** The metrics text at `metricsUrl`; fails unless it answers 200 in the Prometheus text format. */
export async function scrapeMetrics(metricsUrl: string | undefined): Promise<string> {
  if (!metricsUrl) throw new Error('the metrics listener is off (METRICS_PORT=off)');
  const answer = await fetch(metricsUrl);
  const text = await answer.text();
  if (answer.status !== 200) throw new Error(`${metricsUrl} answered ${answer.status}: ${text}`);
  if (!answer.headers.get('content-type')?.startsWith('text/plain; version=0.0.4'))
    throw new Error(`${metricsUrl} answered ${answer.headers.get('content-type')}`);
  return text;
}

/**
 * The value of the sample `name{labels}` (labels in any order, all of them), or undefined when the text has
 * none: a counter that never moved and a gauge that is absent read the same.
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '')
      .split(/,(?=[a-zA-Z_]\w*=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (have === wanted) return Number(match[3]);
  }
  return undefined;
}
