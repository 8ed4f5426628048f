import { writeFileSync, renameSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

/**
 * `node --require …/cpu-profile-preload.js`: a V8 CPU profile of exactly the measured window. The
 * harness sends SIGUSR2 to start and again to stop; each window is written to
 * `$BENCH_CPU_PROFILE_DIR/window-<n>.cpuprofile`. (`--cpu-prof` would write only on a clean exit and
 * profile boot and warm-up too; Nest re-raises SIGTERM, so there is no clean exit.)
 */
const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  let windows = 0;
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))));

  void post('Profiler.enable').then(() => post('Profiler.setSamplingInterval', { interval: 500 }));
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      void post('Profiler.start');
      return;
    }
    running = false;
    const file = join(dir, `window-${++windows}.cpuprofile`);
    void post('Profiler.stop').then((result) => {
      writeFileSync(`${file}.tmp`, JSON.stringify((result as { profile: unknown }).profile));
      renameSync(`${file}.tmp`, file);
    });
  });
}
