import { MAX_HAND_OVERS, NEVER_LOST, ProjectLock, ProjectQueues, ProjectTurn } from './project-locks';

const PROJECT = 'a'.repeat(32);
const lock = (): ProjectLock => ({ lost: NEVER_LOST, release: () => Promise.resolve() });

/** Whether `promise` has settled, after the microtasks queued so far. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  return done;
}

describe('ProjectQueues', () => {
  afterEach(() => jest.useRealTimers());

  it('gives turns in arrival order, without a lock to carry when the holder leaves', async () => {
    const queues = new ProjectQueues();
    const first = await queues.acquire(PROJECT, 1_000);
    const second = queues.acquire(PROJECT, 1_000);
    const third = queues.acquire(PROJECT, 1_000);
    expect(first.carried).toBeUndefined();
    expect(await settled(second)).toBe(false);

    first.leave();
    first.leave(); // idempotent: the third is not let in by it
    expect(await settled(third)).toBe(false);
    const turn = await second;
    expect(turn.carried).toBeUndefined();
    turn.leave();
    (await third).leave();
    // Nobody left in the queue: the next one is in at once.
    expect(await settled(queues.acquire(PROJECT, 1_000))).toBe(true);
  });

  it('hands the held lock to the next waiter, and has nothing to hand when nobody waits', async () => {
    const queues = new ProjectQueues();
    const first = await queues.acquire(PROJECT, 1_000);
    const held = lock();
    expect(first.handOver(held)).toBe(false);

    const second = queues.acquire(PROJECT, 1_000);
    expect(first.handOver(held)).toBe(true);
    expect((await second).carried).toBe(held);
    // The turn ended with the hand-over.
    expect(first.handOver(held)).toBe(false);
  });

  it(`stops handing over after ${MAX_HAND_OVERS} in a row, so other instances get the project`, async () => {
    const queues = new ProjectQueues();
    const held = lock();
    let turn: ProjectTurn = await queues.acquire(PROJECT, 1_000);
    for (let i = 0; i < MAX_HAND_OVERS; i++) {
      const next = queues.acquire(PROJECT, 1_000);
      expect(turn.handOver(held)).toBe(true);
      turn = await next;
      expect(turn.carried).toBe(held);
    }
    const last = queues.acquire(PROJECT, 1_000);
    expect(turn.handOver(held)).toBe(false);
    turn.leave();
    expect((await last).carried).toBeUndefined();
  });

  it('answers PROJECT_BUSY to a wait past its budget and skips it when the turn comes', async () => {
    jest.useFakeTimers();
    const queues = new ProjectQueues();
    const first = await queues.acquire(PROJECT, 1_000);
    const impatient = queues.acquire(PROJECT, 50);
    const patient = queues.acquire(PROJECT, 1_000);
    const busy = expect(impatient).rejects.toMatchObject({ status: 503, code: 'BFF.PROJECT_BUSY', headers: { 'retry-after': '1' } });
    jest.advanceTimersByTime(50);
    await busy;

    const held = lock();
    expect(first.handOver(held)).toBe(true);
    expect((await patient).carried).toBe(held);
  });

  it('keeps projects apart', async () => {
    const queues = new ProjectQueues();
    await queues.acquire(PROJECT, 1_000);
    expect(await settled(queues.acquire('b'.repeat(32), 1_000))).toBe(true);
  });
});
