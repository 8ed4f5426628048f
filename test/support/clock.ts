/**
 * Time rules (cooldowns, token lifetimes, windows) tested by moving the clock instead of waiting for it:
 * only `Date` is faked, so timers, I/O and the servers a suite runs keep real time, while everything that
 * reads `Date.now()` in this jest context (the app in process, jose, an in-process emulator) sees a clock
 * that stands still until the test moves it. Undone by `jest.useRealTimers()` (called in afterEach).
 */
export function fakeDate(): { advance(ms: number): void } {
  jest.useFakeTimers({
    now: Date.now(),
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
  return { advance: (ms) => jest.setSystemTime(Date.now() + ms) };
}
