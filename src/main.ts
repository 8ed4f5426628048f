import 'reflect-metadata';
import { createApp } from './app.factory';
import { createLogger } from './common/logger';
import { AppConfig } from './config/app-config';
import { ConfigError, DEMO_PROJECT, loadConfig } from './config/load-config';
import { DEMO_CREDENTIALS, startEmulator } from './emulator/emulator';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.log);
  const emulator = config.smn.emulator ? await useEmbeddedEmulator(config) : undefined;

  const app = await createApp(config, { logger, onClose: emulator?.close });
  await app.listen(config.http.port, config.http.host);

  const base = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${config.http.port}`;
  logger.info({ url: base, docs: `${base}/docs`, emulator: emulator?.url }, 'sms-callback-bff listening');
  if (emulator) printQuickStart(base);
}

/** The zero-configuration default: SMN emulated in-process, every project's region pointed at it. */
async function useEmbeddedEmulator(config: AppConfig) {
  const regions = new Set(config.smn.projects.values());
  const emulator = await startEmulator({
    projects: [...config.smn.projects].map(([projectId, region]) => ({
      projectId,
      region,
      topics: ['test_reply', 'test_fail', 'test_success'],
    })),
  });
  for (const region of regions) config.smn.endpoints.set(region, emulator.url);
  config.smn.auth = { mode: 'aksk', accessKey: DEMO_CREDENTIALS.ak, secretKey: DEMO_CREDENTIALS.sk };
  return emulator;
}

function printQuickStart(base: string): void {
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
      `  Try it:      curl -X PUT ${base}/v2/${id}/notifications/sms/callback \\\n` +
      `                 -H 'Content-Type: application/json' -d '${body}'\n` +
      `               curl ${base}/v2/${id}/notifications/sms/callback\n\n`,
  );
}

main().catch((error: unknown) => {
  // One clear message, no stack, for configuration problems; a stack for anything else.
  process.stderr.write(`${error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error))}\n`);
  process.exit(1);
});
