import { AkSkLockout, LOCK_DURATION_MS, MAX_CONSECUTIVE_FAILURES } from './aksk-lockout';

/** The lockout on its own, time passed in by hand. */

const T0 = Date.UTC(2026, 0, 1);
const AK = 'SOMEACCESSKEY';

function failTimes(lockout: AkSkLockout, n: number, at = T0): void {
  for (let i = 0; i < n; i++) lockout.recordFailure(AK, at);
}

describe('AkSkLockout', () => {
  it('tolerates five failures in a row and locks on the sixth, for five minutes', () => {
    expect(MAX_CONSECUTIVE_FAILURES).toBe(5);
    expect(LOCK_DURATION_MS).toBe(300_000);
    const lockout = new AkSkLockout();
    failTimes(lockout, 5);
    expect(lockout.isLocked(AK, T0)).toBe(false);
    lockout.recordFailure(AK, T0 + 1000);
    expect(lockout.isLocked(AK, T0 + 1000)).toBe(true);
    expect(lockout.isLocked(AK, T0 + 1000 + LOCK_DURATION_MS - 1)).toBe(true);
    expect(lockout.isLocked(AK, T0 + 1000 + LOCK_DURATION_MS)).toBe(false);
  });

  it('starts afresh once the lock has run out', () => {
    const lockout = new AkSkLockout();
    failTimes(lockout, 6);
    const after = T0 + LOCK_DURATION_MS;
    expect(lockout.isLocked(AK, after)).toBe(false);
    failTimes(lockout, 5, after);
    expect(lockout.isLocked(AK, after)).toBe(false);
    expect(lockout.list(after)).toEqual([{ access_key: AK, consecutive_failures: 5, locked_until: null }]);
  });

  it('does not extend a lock when more failures arrive during it', () => {
    const lockout = new AkSkLockout();
    failTimes(lockout, 6);
    failTimes(lockout, 20, T0 + 60_000);
    expect(lockout.isLocked(AK, T0 + LOCK_DURATION_MS)).toBe(false);
  });

  it('counts only failures in a row: a success resets the count', () => {
    const lockout = new AkSkLockout();
    failTimes(lockout, 5);
    lockout.recordSuccess(AK);
    failTimes(lockout, 5);
    expect(lockout.isLocked(AK, T0)).toBe(false);
    expect(lockout.list(T0)).toEqual([{ access_key: AK, consecutive_failures: 5, locked_until: null }]);
  });

  it('locks each access key on its own', () => {
    const lockout = new AkSkLockout();
    failTimes(lockout, 6);
    expect(lockout.isLocked('OTHERKEY', T0)).toBe(false);
  });

  it('lists the keys it counts, with when their lock ends', () => {
    const lockout = new AkSkLockout();
    failTimes(lockout, 6);
    lockout.recordFailure('OTHERKEY', T0);
    expect(lockout.list(T0)).toEqual([
      { access_key: AK, consecutive_failures: 6, locked_until: new Date(T0 + LOCK_DURATION_MS).toISOString() },
      { access_key: 'OTHERKEY', consecutive_failures: 1, locked_until: null },
    ]);
    expect(lockout.list(T0 + LOCK_DURATION_MS)).toEqual([{ access_key: 'OTHERKEY', consecutive_failures: 1, locked_until: null }]);
  });

  it('forgets everything on clear()', () => {
    const lockout = new AkSkLockout();
    failTimes(lockout, 6);
    lockout.clear();
    expect(lockout.isLocked(AK, T0)).toBe(false);
    expect(lockout.list(T0)).toEqual([]);
  });
});
