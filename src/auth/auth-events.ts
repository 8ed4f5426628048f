import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { APP_LOGGER } from '../common/logging.module';
import type { AuthFailure } from './auth.errors';

export interface AuthFailureEvent extends AuthFailure {
  method: string;
  /** The route pattern (e.g. `/v2/:project_id/notifications/sms/callback`), never the raw URL. */
  route?: string;
}

export type AuthFailureListener = (event: AuthFailureEvent) => void;

/** Lets metrics (and anything else) count refusals by reason without the guard knowing about them. */
@Injectable()
export class AuthEvents {
  private readonly logger: Logger;
  private readonly listeners = new Set<AuthFailureListener>();

  constructor(@Inject(APP_LOGGER) logger: Logger) {
    this.logger = logger.child({ component: 'auth' });
  }

  /** Registers a listener; returns a function that removes it. */
  onFailure(listener: AuthFailureListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emitFailure(event: AuthFailureEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        // A broken metrics hook must not turn a clean 401 into a 500.
        this.logger.warn({ err: error }, 'auth failure listener threw');
      }
    }
  }
}
