import { createServer } from 'node:http';
import { Pool } from 'undici';

/**
 * The benchmark's reference point (docs/performance.md): the least a Node proxy can do. node:http in, an undici
 * keep-alive Pool out; method, path, headers and body forwarded, status and body returned. No auth,
 * validation, signing (the load generator sends pre-signed requests), logging or audit.
 * Env: UPSTREAM_URL, PORT.
 */
const pool = new Pool(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:9800', { connections: 64, pipelining: 1 });
const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && !HOP_BY_HOP.has(name)) headers[name] = value;
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    pool
      .request({ method: req.method as 'GET', path: req.url ?? '/', headers, body })
      .then(async (answer) => {
        const data = Buffer.from(await answer.body.arrayBuffer());
        res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? 'application/json'), 'content-length': data.length });
        res.end(data);
      })
      .catch((error: { code?: string }) => res.writeHead(502).end(error.code ?? 'error'));
  });
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write('pass-through listening\n'));
process.once('SIGTERM', () => {
  server.close();
  void pool.close().finally(() => process.exit(0));
});
