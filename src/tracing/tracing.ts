import {
  Attributes,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { IncomingHttpHeaders } from 'node:http';
import { activeSpan, runWithSpan } from './active-span';

/** What an enabled `Tracing` runs on: the SDK's tracer and the W3C propagator (tracer-provider.ts). */
export interface TracingSdk {
  tracer: Tracer;
  propagator: TextMapPropagator;
  /** Exports what is still buffered, then stops. */
  shutdown(): Promise<void>;
}

/**
 * This service's spans (README, Tracing), and the DI token of the one instance (tracing.module.ts). Off unless an
 * OTLP endpoint is configured: then `enabled` is false, and code on the hot path checks it before it builds a
 * span name or an attribute, so that tracing off costs one property read. The methods below may still be called
 * when off (they then only run the function given), for paths where a closure does not matter.
 *
 * The instance holds its tracer and propagator rather than registering them with OpenTelemetry's globals: a
 * process that builds several apps (the tests) cannot have one app's spans leak into another's, and nothing that
 * calls the global API (a library) gets spans from this service.
 */
export class Tracing {
  /** Tracing off: no SDK loaded, no spans, no headers. */
  static readonly DISABLED = new Tracing();

  readonly enabled: boolean;

  constructor(private readonly sdk?: TracingSdk) {
    this.enabled = sdk !== undefined;
  }

  /** The SERVER span of a request, a child of the caller's trace when it sent a valid `traceparent`. */
  startServerSpan(name: string, headers: IncomingHttpHeaders, attributes: Attributes): Span | undefined {
    if (!this.sdk) return undefined;
    const parent = this.sdk.propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    return this.sdk.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  }

  /**
   * Runs `fn` in a new child span of the active one (a root span when none is active: a background sweep), which
   * ends when the promise settles; a failure marks it an error with its class as `error.type`.
   */
  async inSpan<T>(name: string, kind: SpanKind, attributes: Attributes, fn: (span?: Span) => Promise<T>): Promise<T> {
    if (!this.sdk) return fn();
    const parent = activeSpan();
    const span = this.sdk.tracer.startSpan(name, { kind, attributes }, parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT);
    try {
      return await runWithSpan(span, () => fn(span));
    } catch (error) {
      markFailed(span, error instanceof Error ? error.constructor.name : 'unknown');
      throw error;
    } finally {
      span.end();
    }
  }

  /** Writes the active span's `traceparent` (and `tracestate`) into outbound request headers. */
  inject(headers: Record<string, string>): void {
    const span = this.sdk && activeSpan();
    if (span) this.sdk!.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
  }

  /** Exports the spans still buffered: Nest calls it on app close, after the HTTP server drained (SIGTERM too). */
  async onApplicationShutdown(): Promise<void> {
    await this.sdk?.shutdown();
  }
}

/** An error status without a message: messages may quote what a span must not hold; the class says enough. */
export function markFailed(span: Span, errorType: string): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/**
 * Attribute names of this service's own, and the semantic conventions' names still marked incubating (copied
 * rather than imported from `/incubating`, as OpenTelemetry advises, since those may change in a minor release).
 */
export const TraceAttribute = {
  /** The caller's subject or key name (JWT `sub`, the API key's or access key's configured name): never a secret. */
  EndUserId: 'enduser.id',
  CallerKind: 'bff.caller.kind',
  /** The BFF's correlation id, as in `X-Request-Id` and the logs. */
  RequestId: 'bff.request_id',
  /** The envelope code of a failed request. */
  ErrorCode: 'bff.error_code',
  ProjectId: 'bff.project_id',
  UrlTemplate: 'url.template',
  SmnOperation: 'smn.operation',
  /** 0 for the first attempt of an operation, then 1, 2, … for its retries. */
  SmnRetry: 'smn.retry',
  /** SMN's request id of the answer (its `X-Request-Id`). */
  SmnRequestId: 'smn.request_id',
  AuditOutcome: 'bff.audit.outcome',
  AuditSeq: 'bff.audit.seq',
} as const;
