import axios from 'axios';
import { Agent } from 'undici';
import { USER_AGENT } from '../../src/http/outbound-http.options';
import { createUndiciAxiosAdapter } from '../../src/http/undici-axios-adapter';

/**
 * `node --require …/undici-adapter-preload.js dist/src/main.js` (BENCH_ADAPTER=undici): makes every axios
 * instance created afterwards without an adapter of its own use the undici adapter. That is how the
 * adapter was measured before the app wired it (3973697); on builds since, the outbound HTTP module passes
 * its own adapter and this preload changes nothing. Kept to re-measure older builds (BENCH_DIST).
 */
const dispatcher = new Agent({ connections: Number(process.env.UPSTREAM_MAX_SOCKETS ?? 64), keepAliveTimeout: 4_000, pipelining: 1 });
axios.defaults.adapter = createUndiciAxiosAdapter({ dispatcher, userAgent: USER_AGENT, defaultTimeoutMs: 10_000 });
process.stderr.write('bench: axios adapter = undici\n');
