import { diag, DiagLogLevel } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import type { TracingConfig } from '../config/app-config';
import type { TracingSdk } from './tracing';

/** A collector that does not answer must not turn a clean shutdown into the grace period's exit 1. */
const FLUSH_ON_SHUTDOWN_MS = 2_000;

/**
 * The SDK as this service runs it: spans batched (`OTEL_BSP_*`) and sent as OTLP/HTTP JSON to the configured URL,
 * sampled by the SDK's default (parent-based, always on; `OTEL_TRACES_SAMPLER`), under a resource named by
 * `OTEL_SERVICE_NAME` plus `OTEL_RESOURCE_ATTRIBUTES`. The SDK reads those standard variables itself; the URL and
 * the name come from the configuration (src/config/), which decides whether tracing is on at all.
 */
export function startTracerProvider(config: TracingConfig & { tracesUrl: string }, logger?: Logger): TracingSdk {
  if (logger) useLoggerForDiagnostics(logger.child({ component: 'tracing' }));
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }));
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }))],
  });
  return {
    tracer: provider.getTracer('sms-callback-bff'),
    propagator: new W3CTraceContextPropagator(),
    shutdown: async () => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), FLUSH_ON_SHUTDOWN_MS)));
      const outcome = await Promise.race([provider.shutdown().then(() => 'flushed' as const), late]).finally(() => clearTimeout(timer));
      if (outcome === 'late') logger?.warn({ ms: FLUSH_ON_SHUTDOWN_MS }, 'spans not exported at shutdown: the collector did not answer in time');
    },
  };
}

/**
 * The SDK reports failed exports through its diagnostics (otherwise silent): they go to the log, warnings and up,
 * so a collector that is down is seen. Diagnostics are the SDK's one global, set only in a process with tracing on.
 */
function useLoggerForDiagnostics(logger: Logger): void {
  const write =
    (level: 'warn' | 'error') =>
    (message: string, ...args: unknown[]) =>
      logger[level]({ detail: args.map(String) }, `OpenTelemetry: ${message}`);
  const ignore = () => undefined;
  diag.setLogger(
    { error: write('error'), warn: write('warn'), info: ignore, debug: ignore, verbose: ignore },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}
