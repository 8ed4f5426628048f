import { Mutex, withTimeout } from 'async-mutex';
import { ProjectBusyError } from './audit-errors';

/** A project's change lock as held by one attempt. */
export interface ProjectLock {
  /** Aborted when the lock is lost (its database session died): the holder no longer excludes anybody. */
  readonly lost: AbortSignal;
  /** Idempotent; never throws (a lock whose release fails is dropped with its session). */
  release(): Promise<void>;
}

/**
 * In-process queues, one per project: waiting for a project's lock happens here, in arrival order, and
 * never in a connection pool. A wait longer than its budget answers ProjectBusyError.
 */
export class ProjectQueues {
  private readonly entries = new Map<string, { mutex: Mutex; users: number }>();

  async acquire(projectId: string, waitMs: number): Promise<() => void> {
    let entry = this.entries.get(projectId);
    if (!entry) this.entries.set(projectId, (entry = { mutex: new Mutex(), users: 0 }));
    entry.users++;
    const done = () => {
      // Forget idle projects so the map does not grow with every project ever seen.
      if (--entry.users === 0) this.entries.delete(projectId);
    };
    try {
      const release = await withTimeout(entry.mutex, Math.max(1, waitMs), new ProjectBusyError(waitMs / 1000)).acquire();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        release();
        done();
      };
    } catch (error) {
      done();
      throw error;
    }
  }
}

export const NEVER_LOST: AbortSignal = new AbortController().signal;
