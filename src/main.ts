import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { createApp } from './app.factory';
import { DEVELOPMENT_API_KEY } from './auth/auth.options';
import { createLogger } from './common/logger';
import type { AppConfig } from './config/app-config';
import { withEmbeddedEmulator } from './config/embedded-emulator';
import { ConfigError, DEMO_PROJECT, loadConfig } from './config/load-config';

async function main(): Promise<void> {
  const validated = loadConfig();
  const logger = createLogger(validated.log);
  const embedded = validated.smn.emulator ? await startEmbeddedEmulator(validated) : undefined;
  const config = embedded?.config ?? validated;
  const emulator = embedded?.emulator;

  const app = await createApp(config, { logger, onClose: emulator?.close });
  await app.listen(config.http.port, config.http.host);
  closeGracefullyOnSignals(app, config.http.shutdownGraceMs, logger);

  const base = (await app.getUrl()).replace('[::1]', 'localhost');
  logger.info({ url: base, docs: `${base}/docs`, emulator: emulator?.url }, 'sms-callback-bff listening');
  if (emulator) printQuickStart(base, config.auth.developmentKey);
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

function printQuickStart(base: string, developmentKey: boolean): void {
  const key = developmentKey ? `-H 'X-Api-Key: ${DEVELOPMENT_API_KEY}' ` : '';
  const { id, region } = DEMO_PROJECT;
  const body = JSON.stringify({
    callback: [
      { event_type: 'sms_reply_event', topic_urn: `urn:smn:${region}:${id}:test_reply` },
      { event_type: 'sms_fail_event', topic_urn: `urn:smn:${region}:${id}:test_fail` },
      { event_type: 'sms_success_event', topic_urn: `urn:smn:${region}:${id}:test_success` },
    ],
  });
  process.stdout.write(
    `\n  Swagger UI:  ${base}/docs\n` +
      (developmentKey ? `  Authorize:   X-Api-Key: ${DEVELOPMENT_API_KEY} (the development key; never in production)\n` : '') +
      `  Try it:      curl -X PUT ${base}/v2/${id}/notifications/sms/callback ${key}\\\n` +
      `                 -H 'Content-Type: application/json' -d '${body}'\n` +
      `               curl ${key}${base}/v2/${id}/notifications/sms/callback\n` +
      `               curl ${key}'${base}/audit/events?project_id=${id}'\n\n`,
  );
}

main().catch((error: unknown) => {
  // One clear message, no stack, for configuration problems; a stack for anything else.
  process.stderr.write(`${error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error))}\n`);
  process.exit(1);
});
