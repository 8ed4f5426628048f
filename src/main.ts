import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { DEVELOPMENT_API_KEY } from './auth/auth.options';
import { createLogger, writeAfterLogs } from './common/logger';
import { METRICS_LISTENER, listenFailure, reservePort } from './common/port-reservation';
import { StartupError } from './common/startup-error';
import type { AppConfig } from './config/app-config';
import { withEmbeddedEmulator } from './config/embedded-emulator';
import { ConfigError, DEMO_PROJECT, loadConfig } from './config/load-config';

async function main(): Promise<void> {
  const validated = loadConfig();
  const logger = createLogger(validated.log);
  // First, before the seconds the emulator, the store and its migrations take: a port in use is known now.
  const port = await reservePort(validated.http);
  const metricsPort = validated.http.metrics ? await reservePort(validated.http.metrics, METRICS_LISTENER) : undefined;
  const embedded = validated.smn.emulator ? await startEmbeddedEmulator(validated) : undefined;
  const config = embedded?.config ?? validated;
  const emulator = embedded?.emulator;

  // Loaded only now: Nest and every module take a second or more to load, and a refusal above must not wait.
  const [{ createApp }, { MetricsServer }] = await Promise.all([import('./app.factory'), import('./metrics/metrics.server')]);
  // The metrics listener opens as the app is built (its module's bootstrap hook).
  await metricsPort?.release();
  const app = await createApp(config, { logger, onClose: emulator?.close });
  await port.release();
  await app.listen(config.http.port, config.http.host).catch((error: unknown) => {
    throw listenFailure(error, config.http) ?? error;
  });
  closeGracefullyOnSignals(app, config.http.shutdownGraceMs, logger);

  const base = (await app.getUrl()).replace('[::1]', 'localhost');
  const metrics = app.get(MetricsServer).url?.replace('[::1]', 'localhost');
  logger.info({ url: base, docs: `${base}/docs`, metrics, emulator: emulator?.url }, 'sms-callback-bff listening');
  // Last and once, after every line logged so far.
  if (emulator) writeAfterLogs(logger, quickStart(base, config.auth.developmentKey, metrics));
}

/** The zero-configuration default: SMN emulated in-process, every project's region pointed at it. */
async function startEmbeddedEmulator(config: AppConfig) {
  // Loaded only here, so that the emulator and its published demo credentials are no part of a real start.
  const { DEMO_CREDENTIALS, DEMO_IAM_USER, startEmulator } = await import('./emulator/emulator');
  const emulator = await startEmulator({
    projects: [...config.smn.projects].map(([projectId, region]) => ({
      projectId,
      region,
      topics: ['test_reply', 'test_fail', 'test_success'],
    })),
  });
  return {
    emulator,
    config: withEmbeddedEmulator(config, { url: emulator.url, accessKey: DEMO_CREDENTIALS.ak, secretKey: DEMO_CREDENTIALS.sk, iamUser: DEMO_IAM_USER }),
  };
}

/**
 * SIGTERM/SIGINT: readiness turns down, the listener closes (new connections are refused), in-flight
 * requests finish, then audit, pools and agents close (Nest's shutdown hooks) and the process exits 0.
 * Past the grace period it exits 1 rather than hang.
 */
function closeGracefullyOnSignals(app: INestApplication, graceMs: number, logger: Logger): void {
  const stop = async (signal: NodeJS.Signals) => {
    logger.info({ signal, graceMs }, 'shutting down');
    setTimeout(() => {
      logger.error({ graceMs }, 'shutdown grace period over; exiting with work still open');
      process.exit(1);
    }, graceMs).unref();
    await app.close();
    logger.info('shut down cleanly');
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

function quickStart(base: string, developmentKey: boolean, metrics: string | undefined): string {
  const key = developmentKey ? `-H 'X-Api-Key: ${DEVELOPMENT_API_KEY}' ` : '';
  const { id, region } = DEMO_PROJECT;
  const body = JSON.stringify({
    callback: [
      { event_type: 'sms_reply_event', topic_urn: `urn:smn:${region}:${id}:test_reply` },
      { event_type: 'sms_fail_event', topic_urn: `urn:smn:${region}:${id}:test_fail` },
      { event_type: 'sms_success_event', topic_urn: `urn:smn:${region}:${id}:test_success` },
    ],
  });
  return (
    `\n  Swagger UI:  ${base}/docs\n` +
    (developmentKey ? `  Authorize:   X-Api-Key: ${DEVELOPMENT_API_KEY} (the development key; never in production)\n` : '') +
    (metrics ? `  Metrics:     ${metrics} (a port of their own, not the API's)\n` : '') +
    `  Try it:      curl -X PUT ${base}/v2/${id}/notifications/sms/callback ${key}\\\n` +
    `                 -H 'Content-Type: application/json' -d '${body}'\n` +
    `               curl ${key}${base}/v2/${id}/notifications/sms/callback\n` +
    `               curl ${key}'${base}/audit/events?project_id=${id}'\n\n`
  );
}

main().catch((error: unknown) => {
  // One clear message, no stack, for what the operator can fix (the configuration, a port in use, the signing
  // key, the store); anything else is a bug and keeps its stack.
  const known = error instanceof ConfigError || error instanceof StartupError;
  process.stderr.write(`${known ? error.message : ((error as Error).stack ?? String(error))}\n`);
  process.exit(1);
});
