import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { createApp } from '../../src/app.factory';
import { DEMO_PROJECT, loadConfig } from '../../src/config/load-config';
import { DEMO_CREDENTIALS, DEMO_IAM_USER, EmulatorOptions, RunningEmulator, startEmulator } from '../../src/emulator/emulator';
import { MetricsServer } from '../../src/metrics/metrics.server';
import { createTestSchema, seedPgliteDir, TestSchema } from './audit-databases';
import { scrapeMetrics } from './metrics-scrape';

export const PROJECT_ID = DEMO_PROJECT.id;
export const REGION = DEMO_PROJECT.region;
export const CALLBACK_PATH = `/v2/${PROJECT_ID}/notifications/sms/callback`;
export const urn = (topic: string, project = PROJECT_ID, region = REGION) => `urn:smn:${region}:${project}:${topic}`;

/** The seed page's example, with the region filled in. */
export const SEED_BODY = {
  callback: [
    { event_type: 'sms_reply_event', topic_urn: urn('test_reply') },
    { event_type: 'sms_fail_event', topic_urn: urn('test_fail') },
    { event_type: 'sms_success_event', topic_urn: urn('test_success') },
  ],
};

export const DEV_KEY = 'local-development-key';

export interface Harness {
  app: NestFastifyApplication;
  /** Base URL of the listening BFF. */
  url: string;
  /** `GET /metrics` on the BFF's metrics listener (an ephemeral port of its own); undefined with METRICS_PORT=off. */
  metricsUrl?: string;
  /** The metrics text, scraped from the metrics listener (fails unless it answers 200). */
  scrape(): Promise<string>;
  /** supertest on the BFF, sending the development API key with every request. */
  api: TestAgent;
  emulator: RunningEmulator;
  /** Everything the BFF logged, one parsed JSON object per line. */
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * The BFF on an ephemeral port talking over real HTTP to an emulator on another one. `env` overrides the
 * configuration exactly as environment variables would.
 */
export async function startHarness(env: Record<string, string> = {}, emulatorOptions: EmulatorOptions = {}): Promise<Harness> {
  // A store of its own: a fresh schema in the test PostgreSQL database when one is configured (faster), else
  // an embedded store in a fresh data directory. Callers that pass DATA_DIR or DATABASE_URL bring their own
  // (the audit suites cover both stores explicitly).
  const dataDir = mkdtempSync(join(tmpdir(), 'bff-test-'));
  const schema: TestSchema | undefined = !('DATABASE_URL' in env) && process.env.TEST_DATABASE_URL ? await createTestSchema('bff') : undefined;
  if (!schema && !env.DATABASE_URL && !('DATA_DIR' in env)) seedPgliteDir(join(dataDir, 'audit'));
  const emulator = await startEmulator({
    projects: [{ projectId: PROJECT_ID, region: REGION, topics: ['test_reply', 'test_fail', 'test_success'] }],
    ...emulatorOptions,
  });
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    SMN_EMULATOR: 'false',
    SMN_PROJECTS: `${PROJECT_ID}=${REGION}`,
    SMN_ENDPOINTS: `${REGION}=${emulator.url}`,
    SMN_ACCESS_KEY: DEMO_CREDENTIALS.ak,
    SMN_SECRET_KEY: DEMO_CREDENTIALS.sk,
    SMN_IAM_ENDPOINT: emulator.url,
    SMN_IAM_USER: DEMO_IAM_USER.name,
    SMN_IAM_PASSWORD: DEMO_IAM_USER.password,
    SMN_IAM_DOMAIN: DEMO_IAM_USER.domain,
    DATA_DIR: dataDir,
    ...(schema ? { DATABASE_URL: schema.databaseUrl } : {}),
    UPSTREAM_BACKOFF_BASE_MS: '10',
    UPSTREAM_BACKOFF_MAX_MS: '50',
    // Any free port: suites run side by side, and a BFF on this machine may hold the default.
    METRICS_PORT: '0',
    ...env,
  });
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: config.log.level }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const app = await createApp(config, { logger });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const metricsUrl = app.get(MetricsServer).url;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    metricsUrl,
    scrape: () => scrapeMetrics(metricsUrl),
    api: request.agent(`http://127.0.0.1:${port}`).set('X-Api-Key', DEV_KEY),
    emulator,
    logs,
    async close() {
      await app.close();
      await emulator.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
