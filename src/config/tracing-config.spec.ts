import { ConfigError, loadConfig } from './load-config';

/** The tracing variables (README, Tracing): off by default, OpenTelemetry's own names accepted. */

const tracingOf = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env }).tracing;

describe('tracing configuration', () => {
  it('is off unless an OTLP endpoint is set, and named sms-callback-bff', () => {
    expect(tracingOf({})).toEqual({ tracesUrl: undefined, serviceName: 'sms-callback-bff' });
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }).tracesUrl).toBeUndefined();
  });

  it('sends to {endpoint}/v1/traces, or to the traces endpoint as it is', () => {
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracesUrl).toBe('http://collector:4318/v1/traces');
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/otlp/' }).tracesUrl).toBe('http://collector:4318/otlp/v1/traces');
    expect(
      tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/ingest' }).tracesUrl,
    ).toBe('https://traces.example/ingest');
  });

  it('honours OTEL_SERVICE_NAME and OTEL_SDK_DISABLED', () => {
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'bff-eu' })).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'bff-eu',
    });
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracesUrl).toBeUndefined();
  });

  it("accepts the SDK's own OTEL_* variables: OTEL_ is OpenTelemetry's namespace, not this service's", () => {
    expect(() =>
      tracingOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer x',
        OTEL_BSP_SCHEDULE_DELAY: '1000',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=staging',
      }),
    ).not.toThrow();
  });

  it('refuses an endpoint that is not an http(s) URL', () => {
    expect(() => tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' })).toThrow(ConfigError);
    expect(() => tracingOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' })).toThrow(/OTEL_EXPORTER_OTLP_TRACES_ENDPOINT/);
  });
});
