import axios from 'axios';
import { createUndiciAdapter } from '../../src/smn/undici-axios-adapter';

/**
 * `node --require …/undici-adapter-preload.js dist/src/main.js` (BENCH_ADAPTER=undici): makes every axios
 * instance created afterwards without an adapter of its own use the undici adapter. That is how the
 * adapter was measured before the app wired it (3973697); on builds since, the SMN module passes its own
 * adapter and this preload changes nothing. Kept to re-measure older builds (BENCH_DIST).
 */
axios.defaults.adapter = createUndiciAdapter({ connections: Number(process.env.UPSTREAM_MAX_SOCKETS ?? 64) });
process.stderr.write('bench: axios adapter = undici\n');
