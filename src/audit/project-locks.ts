import { ProjectBusyError } from './audit-errors';

/** A project's change lock as held by one attempt. */
export interface ProjectLock {
  /** Aborted when the lock is lost (its database session died): the holder no longer excludes anybody. */
  readonly lost: AbortSignal;
  /** Idempotent; never throws (a lock whose release fails is dropped with its session). */
  release(): Promise<void>;
}

/**
 * How many times in a row a cross-instance lock is handed to the next waiter of this process before it is
 * released anyway, so that other instances waiting for the project get their turn.
 */
export const MAX_HAND_OVERS = 8;

/** One holder's turn in a project's queue. */
export interface ProjectTurn {
  /** The cross-instance lock the previous holder handed over, still held by its session (none: take one). */
  readonly carried?: ProjectLock;
  /**
   * Passes `lock`, still held, to the next waiter of this project, and ends this turn; false (nothing done)
   * when nobody waits or the lock was passed on MAX_HAND_OVERS times already: release it, then `leave()`.
   */
  handOver(lock: ProjectLock): boolean;
  /** Ends this turn without a lock to pass on: the next waiter takes its own. Idempotent. */
  leave(): void;
}

interface Waiter {
  resolve(turn: ProjectTurn): void;
  timer: NodeJS.Timeout;
}

/**
 * In-process queues, one per project: waiting for a project's lock happens here, in arrival order, and
 * never in a connection pool. A wait longer than its budget answers ProjectBusyError.
 *
 * Hand-written rather than async-mutex because a turn can pass the cross-instance lock it holds to the next
 * waiter (no unlock and lock round trips between two changes of one project), which a mutex cannot carry.
 * A waiter costs one timer, and its ProjectBusyError is built only when the wait times out.
 */
export class ProjectQueues {
  private readonly queues = new Map<string, Waiter[]>();

  acquire(projectId: string, waitMs: number): Promise<ProjectTurn> {
    const waiters = this.queues.get(projectId);
    if (!waiters) {
      // Free: the queue exists while somebody holds the project.
      this.queues.set(projectId, []);
      return Promise.resolve(this.turn(projectId, undefined, 0));
    }
    return new Promise<ProjectTurn>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(
          () => {
            waiters.splice(waiters.indexOf(waiter), 1);
            reject(new ProjectBusyError(waitMs / 1000));
          },
          Math.max(1, waitMs),
        ),
      };
      waiters.push(waiter);
    });
  }

  private turn(projectId: string, carried: ProjectLock | undefined, handOvers: number): ProjectTurn {
    let ended = false;
    const next = (): Waiter | undefined => {
      const waiter = this.queues.get(projectId)?.shift();
      if (waiter) clearTimeout(waiter.timer);
      return waiter;
    };
    return {
      carried,
      handOver: (lock) => {
        if (ended || handOvers >= MAX_HAND_OVERS) return false;
        const waiter = next();
        if (!waiter) return false;
        ended = true;
        waiter.resolve(this.turn(projectId, lock, handOvers + 1));
        return true;
      },
      leave: () => {
        if (ended) return;
        ended = true;
        const waiter = next();
        if (waiter) waiter.resolve(this.turn(projectId, undefined, 0));
        // Forget idle projects so the map does not grow with every project ever seen.
        else this.queues.delete(projectId);
      },
    };
  }
}

export const NEVER_LOST: AbortSignal = new AbortController().signal;
