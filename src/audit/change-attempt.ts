import { applyDecorators, createParamDecorator, ExecutionContext } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth/caller';
import type { AuditActorKind, AuditAttemptColumns } from './audit.types';

const AUDITED_CHANGE = 'auditedChange';

/**
 * Marks a route whose every attempt is audited: the change attempt lifecycle opens an attempt when such a
 * request arrives and guarantees its one record. The mark travels in Fastify's route config, so the hooks
 * that run before Nest (body parsing, its refusals) see it too.
 */
export const AuditedChange = (): MethodDecorator => applyDecorators(RouteConfig({ [AUDITED_CHANGE]: true }));

export function isAuditedChange(request: FastifyRequest): boolean {
  return (request.routeOptions.config as unknown as Record<string, unknown> | undefined)?.[AUDITED_CHANGE] === true;
}

export interface AttemptActor {
  kind: AuditActorKind;
  /** JWT `sub` or the API key's configured name; never the token or key itself. */
  subject?: string;
  clientId?: string;
}

/**
 * One audited change attempt: the single typed state the lifecycle keeps per request, from arrival to its
 * record. Holds identities, never secrets.
 */
export class ChangeAttempt {
  /** The id of its intent and of its record. */
  readonly id = randomUUID();
  readonly startedAt: Date;
  /** When the whole attempt must have ended (epoch ms): the change deadline counted from arrival. */
  readonly deadlineAt: number;
  actor: AttemptActor = { kind: 'anonymous' };
  /** The parsed body, once parsed. */
  requested: unknown = null;
  /** The configuration before the change, as recorded, once read under the lock. */
  before: unknown = undefined;
  /** The body was parsed and the request reached the guards (parse-time refusals never did). */
  reachedHandler = false;
  /** The write-ahead intent is committed. */
  intentCommitted = false;
  /** The change was sent upstream. */
  forwarded = false;
  /** Its record is written or handed to the store (which keeps it until stored). */
  recorded = false;
  /** The error that ended the attempt inside the change pipeline, with what its record needs. */
  failure?: unknown;
  /** The intent's columns as written (the lifecycle's): the final record repeats them, computed once. */
  columns?: AuditAttemptColumns;

  constructor(
    readonly requestId: string,
    readonly projectId: string,
    readonly sourceIp: string,
    readonly userAgent: string | undefined,
    deadlineMs: number,
    now = Date.now(),
  ) {
    this.startedAt = new Date(now);
    this.deadlineAt = now + deadlineMs;
  }

  /** Names the actor once authentication has run. Identity only: never a token, key or cookie. */
  identify(caller: Caller | undefined): void {
    if (caller) this.actor = { kind: caller.kind, subject: caller.subject, clientId: caller.clientId };
  }

  /** Milliseconds left of the deadline. */
  remainingMs(now = Date.now()): number {
    return this.deadlineAt - now;
  }
}

const attempts = new WeakMap<FastifyRequest['raw'], ChangeAttempt>();

/** The attempt of an audited request (undefined for other routes). */
export function attemptOf(request: FastifyRequest): ChangeAttempt | undefined {
  return attempts.get(request.raw);
}

/** Only the lifecycle opens attempts. */
export function openAttempt(request: FastifyRequest, attempt: ChangeAttempt): void {
  attempts.set(request.raw, attempt);
}

/** The current request's change attempt, for the handler of an `@AuditedChange()` route. */
export const Attempt = createParamDecorator((_data: unknown, context: ExecutionContext): ChangeAttempt => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  const attempt = attemptOf(request);
  if (!attempt) throw new Error('@Attempt() used on a route without @AuditedChange()');
  // Handlers run after the guards: the caller is known now.
  attempt.identify(request.caller);
  return attempt;
});
