import { FixedWindowMemoryStorage } from './fixed-window-memory.store';

describe('FixedWindowMemoryStorage', () => {
  let storage: FixedWindowMemoryStorage;
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    storage = new FixedWindowMemoryStorage();
  });
  afterEach(() => {
    storage.onApplicationShutdown();
    jest.useRealTimers();
  });

  it('counts hits in a window and blocks the one over the limit for the block duration', async () => {
    for (let i = 1; i <= 3; i++) expect(await storage.increment('k', 10_000, 3, 5_000)).toMatchObject({ totalHits: i, isBlocked: false });
    expect(await storage.increment('k', 10_000, 3, 5_000)).toMatchObject({ isBlocked: true, timeToBlockExpire: 5 });
    jest.advanceTimersByTime(4_000);
    expect(await storage.increment('k', 10_000, 3, 5_000)).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    jest.advanceTimersByTime(1_000);
    // After the block a fresh window starts.
    expect(await storage.increment('k', 10_000, 3, 5_000)).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('starts a new window when the old one ends, and keeps keys apart', async () => {
    await storage.increment('a', 1_000, 1, 1_000);
    expect(await storage.increment('b', 1_000, 1, 1_000)).toMatchObject({ totalHits: 1, isBlocked: false });
    jest.advanceTimersByTime(1_000);
    expect(await storage.increment('a', 1_000, 1, 1_000)).toMatchObject({ totalHits: 1, isBlocked: false });
  });
});
