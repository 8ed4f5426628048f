import axios from 'axios';
import { createUndiciAdapter } from '../../src/smn/undici-axios-adapter';

/**
 * `node --require …/undici-adapter-preload.js dist/src/main.js` (BENCH_ADAPTER=undici): makes every axios
 * instance created afterwards, the SMN module's included, use the undici adapter, without touching the
 * app. Stand-in until the app selects its adapter itself (see docs/performance.md).
 */
axios.defaults.adapter = createUndiciAdapter({ connections: Number(process.env.UPSTREAM_MAX_SOCKETS ?? 64) });
process.stderr.write('bench: axios adapter = undici\n');
