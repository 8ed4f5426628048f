import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'PUT';
  headers: Record<string, string>;
  body?: string;
  /**
   * Requests to rotate through instead of `url`'s path and `body`: all connections share one counter, so
   * consecutive requests (whichever connection sends them) go to consecutive entries, e.g. projects.
   */
  rotate?: ReadonlyArray<{ path: string; body: string }>;
  connections: number;
  durationSeconds: number;
}

export interface LoadResult {
  requests: number;
  elapsedSeconds: number;
  rps: number;
  /** Milliseconds, from our own sub-millisecond record (autocannon's histogram keeps whole ms only). */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Non-2xx answers plus socket errors and timeouts. */
  errors: number;
  statusCounts: Record<string, number>;
  /** CPU the load generator (this process) spent, µs per request. */
  loadgenCpuUsPerRequest: number;
}

/** One autocannon run; latencies of every answer are recorded with hrtime precision. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const instance = autocannon({
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    duration: spec.durationSeconds,
    pipelining: 1,
    timeout: 10,
    ...(spec.rotate ? { requests: [{ setupRequest: rotation(spec.rotate) }] } : {}),
  });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = responseTime;
  });
  const result = await instance;
  const elapsedSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);

  const sorted = latencies.subarray(0, count).sort();
  const at = (q: number) => (count ? sorted[Math.min(count - 1, Math.floor(q * count))] : NaN);
  const statusCounts: Record<string, number> = {};
  for (const [status, { count: n }] of Object.entries(result.statusCodeStats ?? {})) statusCounts[status] = n;
  return {
    requests: count,
    elapsedSeconds,
    rps: count / elapsedSeconds,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: count ? sorted[count - 1] : NaN,
    errors: result.non2xx + result.errors,
    statusCounts,
    loadgenCpuUsPerRequest: count ? (cpu.user + cpu.system) / count : NaN,
  };
}

/** autocannon's setupRequest that hands out the next entry of `rotate` on every request, across connections. */
function rotation(rotate: ReadonlyArray<{ path: string; body: string }>) {
  const entries = rotate.map((r) => ({ path: r.path, body: Buffer.from(r.body) }));
  let next = 0;
  return (request: { path: string; body?: string | Buffer }) => {
    const entry = entries[next];
    next = (next + 1) % entries.length;
    request.path = entry.path;
    request.body = entry.body;
    return request;
  };
}
