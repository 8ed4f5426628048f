/**
 * The API gateway's brute-force guard on AK/SK signing: an access key whose signatures fail more
 * than five times in a row is locked for five minutes, and while it is locked every request signed
 * with it is refused, correctly signed ones included. After the five minutes the key starts afresh.
 *
 * What counts is a signature computed with the key's secret that does not match. A request the
 * gateway refuses before it gets that far (no or malformed Authorization, a bad or expired
 * X-Sdk-Date, an unknown AK) neither counts nor resets the count; a verified signature resets it.
 * That line is the emulator's own: the gateway's documentation speaks only of failed AK/SK
 * authentications, and names a wrong secret as the cause.
 *
 * Time is always passed in, so tests drive the five minutes through the emulator's clock.
 */

/** Failures in a row that are still tolerated; the next one locks the key. */
export const MAX_CONSECUTIVE_FAILURES = 5;
export const LOCK_DURATION_MS = 5 * 60_000;

export interface LockoutView {
  access_key: string;
  consecutive_failures: number;
  /** ISO time the lock ends; null while the key is not locked. */
  locked_until: string | null;
}

interface Entry {
  failures: number;
  lockedUntilMs?: number;
}

export class AkSkLockout {
  private readonly entries = new Map<string, Entry>();

  isLocked(accessKey: string, nowMs: number): boolean {
    return this.current(accessKey, nowMs)?.lockedUntilMs !== undefined;
  }

  /** A signature of this key did not verify: counts it, and locks the key once too many failed in a row. */
  recordFailure(accessKey: string, nowMs: number): void {
    const entry = this.current(accessKey, nowMs) ?? { failures: 0 };
    if (entry.lockedUntilMs !== undefined) return;
    entry.failures += 1;
    if (entry.failures > MAX_CONSECUTIVE_FAILURES) entry.lockedUntilMs = nowMs + LOCK_DURATION_MS;
    this.entries.set(accessKey, entry);
  }

  /** A signature of this key verified: the run of failures is over. */
  recordSuccess(accessKey: string): void {
    this.entries.delete(accessKey);
  }

  list(nowMs: number): LockoutView[] {
    const views: LockoutView[] = [];
    for (const accessKey of [...this.entries.keys()]) {
      const entry = this.current(accessKey, nowMs);
      if (!entry) continue;
      views.push({
        access_key: accessKey,
        consecutive_failures: entry.failures,
        locked_until: entry.lockedUntilMs === undefined ? null : new Date(entry.lockedUntilMs).toISOString(),
      });
    }
    return views;
  }

  clear(): void {
    this.entries.clear();
  }

  /** The key's entry, forgotten once its lock has run out. */
  private current(accessKey: string, nowMs: number): Entry | undefined {
    const entry = this.entries.get(accessKey);
    if (entry?.lockedUntilMs !== undefined && nowMs >= entry.lockedUntilMs) {
      this.entries.delete(accessKey);
      return undefined;
    }
    return entry;
  }
}
