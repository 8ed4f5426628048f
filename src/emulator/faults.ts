import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { APIG, APIG_THROTTLED_MESSAGE, SMN, apigErrorBody, smnErrorBody } from './errors';

/**
 * Fault injection: a queue of faults, each matching a method and a path prefix and answering the
 * next `count` matching requests (or a `ratio` of them) in a way the real service or the network
 * sometimes does. The first fault that matches wins; one request gets at most one fault.
 */

export const FAULT_KINDS = ['latency', 'status', 'throttle', 'reset', 'hang', 'malformed'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const faultSpecSchema = z
  .strictObject({
    kind: z.enum(FAULT_KINDS),
    /** Only requests with this method (any case); all methods when absent. */
    method: z.string().min(1).toUpperCase().optional(),
    /** Only requests whose path starts with this; every /v2 and /v3 request when absent. */
    path: z.string().startsWith('/').optional(),
    /** How many matching requests it applies to. Default 1, or unlimited when `ratio` is given. */
    count: z.number().int().positive().optional(),
    /** Probability (0..1) that a matching request gets the fault. */
    ratio: z.number().min(0).max(1).optional(),
    /** Delay before the fault acts; for `latency`, the delay before the normal answer. */
    latency_ms: z.number().int().min(0).max(600_000).optional(),
    /** `status`: the HTTP status to answer with. */
    status: z.number().int().min(200).max(599).optional(),
    /** `status`: SMN-style `{request_id, code, message}` (default) or APIG-style body. */
    style: z.enum(['smn', 'apig']).optional(),
    code: z.string().min(1).optional(),
    message: z.string().optional(),
    /** Seconds for `Retry-After`; `throttle` defaults to 1, `status` sends it only when given. */
    retry_after: z.number().int().min(0).optional(),
    /** `malformed`: the body to send instead of JSON. */
    body: z.string().optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.kind === 'latency' && spec.latency_ms === undefined) {
      ctx.addIssue({ code: 'custom', path: ['latency_ms'], message: 'latency_ms is required for kind "latency"' });
    }
    if (spec.kind === 'status' && spec.status === undefined) {
      ctx.addIssue({ code: 'custom', path: ['status'], message: 'status is required for kind "status"' });
    }
  });

export type FaultSpec = z.infer<typeof faultSpecSchema>;

export interface Fault extends FaultSpec {
  id: string;
  /** Applications left; null means unlimited (ratio-only faults). */
  remaining: number | null;
  applied: number;
}

export class FaultQueue {
  private faults: Fault[] = [];
  private nextId = 1;

  add(spec: FaultSpec): Fault {
    const remaining = spec.count ?? (spec.ratio === undefined ? 1 : null);
    const fault: Fault = { id: `f${this.nextId++}`, ...spec, remaining, applied: 0 };
    this.faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }

  /** The fault for this request, if any, counted as used. Cheap when the queue is empty. */
  take(method: string, path: string, random: () => number = Math.random): Fault | undefined {
    for (let i = 0; i < this.faults.length; i++) {
      const fault = this.faults[i];
      if (fault.method !== undefined && fault.method !== method) continue;
      if (fault.path !== undefined && !path.startsWith(fault.path)) continue;
      // A missed roll does not use the fault up; a later fault may still match.
      if (fault.ratio !== undefined && random() >= fault.ratio) continue;
      fault.applied++;
      if (fault.remaining !== null && --fault.remaining === 0) this.faults.splice(i, 1);
      return { ...fault };
    }
    return undefined;
  }
}

export interface FaultEnvironment {
  /** Aborted when the emulator closes, so injected delays never hold it open. */
  signal: AbortSignal;
  /** Keeps a hung socket so that closing the emulator can end it. */
  holdSocket(socket: Socket): void;
}

/**
 * Acts out a fault. Resolves true when the fault answered (or deliberately did not answer) the
 * request, false when the normal handling should go on (a pure `latency` fault).
 */
export async function applyFault(fault: Fault, reply: FastifyReply, env: FaultEnvironment): Promise<boolean> {
  if (fault.latency_ms) {
    try {
      await sleep(fault.latency_ms, undefined, { signal: env.signal });
    } catch {
      // The emulator is closing and is about to drop every connection; answer nothing.
      reply.hijack();
      return true;
    }
  }

  const requestId = reply.request.id;
  switch (fault.kind) {
    case 'latency':
      return false;
    case 'status': {
      const status = fault.status ?? 500;
      if (fault.retry_after !== undefined) reply.header('retry-after', String(fault.retry_after));
      const defaults = fault.style === 'apig' ? apigDefaults(status) : smnDefaults(status);
      const code = fault.code ?? defaults.code;
      const message = fault.message ?? defaults.message;
      await reply.code(status).send(fault.style === 'apig' ? apigErrorBody(requestId, code, message) : smnErrorBody(requestId, { code, message }));
      return true;
    }
    case 'throttle':
      await reply
        .code(429)
        .header('retry-after', String(fault.retry_after ?? 1))
        .send(apigErrorBody(requestId, fault.code ?? APIG.throttled, fault.message ?? APIG_THROTTLED_MESSAGE));
      return true;
    case 'reset':
      reply.hijack();
      // An RST, not a FIN: clients see ECONNRESET, as when a load balancer drops a connection.
      reply.request.raw.socket.resetAndDestroy();
      return true;
    case 'hang':
      reply.hijack();
      env.holdSocket(reply.request.raw.socket);
      return true;
    case 'malformed':
      await reply
        .code(200)
        .type('application/json')
        .send(fault.body ?? `{"request_id":"${requestId}","callback":[{"event_type":`);
      return true;
  }
}

/** Defaults for an SMN-style status fault; the caller can name any code and message instead. */
function smnDefaults(status: number): { code: string; message: string } {
  if (status === 403) return SMN.noPermission;
  if (status === 404) return SMN.topicNotFound;
  return SMN.internal;
}

/** Defaults for an APIG-style status fault, after the gateway's error table [I for 5xx]. */
function apigDefaults(status: number): { code: string; message: string } {
  switch (status) {
    case 400:
      return { code: APIG.badRequest, message: 'API request error.' };
    case 401:
      return { code: APIG.authFailed, message: 'Incorrect IAM authentication information: verify aksk signature fail' };
    case 403:
      return { code: 'APIGW.0302', message: 'The IAM user is not authorized to access the API.' };
    case 404:
      return { code: APIG.notFound, message: 'The API does not exist or has not been published in the environment.' };
    case 413:
      return { code: APIG.badRequest, message: 'Request entity too large.' };
    case 429:
      return { code: APIG.throttled, message: APIG_THROTTLED_MESSAGE };
    case 504:
      return { code: 'APIGW.0203', message: 'Backend timeout.' };
    default:
      return { code: 'APIGW.0202', message: 'Backend unavailable.' };
  }
}
