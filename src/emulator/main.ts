import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DEMO_CREDENTIALS, DEMO_IAM_USER, EmulatorOptions, startEmulator } from './emulator';

/**
 * `npm run emulator`: the SMN emulator on its own. The emulator reads its environment here, not
 * through the BFF's config module, because it must not import anything from the BFF.
 *
 *   PORT             listening port (default 9800; 0 for an ephemeral one)
 *   HOST             listening address (default 127.0.0.1; 0.0.0.0 in a container)
 *   EMULATOR_SEED    JSON, inline or a path to a file: any of region, credentials, projects,
 *                    iamUsers, tokenLifetimeSeconds, clockSkewSeconds (see EmulatorOptions)
 *   EMULATOR_LOG     "true" for one JSON log line per request
 */

const seedSchema = z.strictObject({
  region: z.string().optional(),
  credentials: z.array(z.strictObject({ ak: z.string().min(1), sk: z.string().min(1), domain: z.string().min(1).optional() })).optional(),
  projects: z
    .array(
      z.strictObject({
        projectId: z.string().regex(/^[0-9a-f]{32}$/),
        region: z.string().min(1),
        topics: z.array(z.string()),
      }),
    )
    .optional(),
  iamUsers: z.array(z.strictObject({ name: z.string().min(1), password: z.string().min(1), domain: z.string().min(1) })).optional(),
  tokenLifetimeSeconds: z.number().positive().optional(),
  clockSkewSeconds: z.number().nonnegative().optional(),
});

async function main(): Promise<void> {
  const env = process.env;
  const port = Number(env.PORT ?? 9800);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be 0..65535, not "${env.PORT}"`);
  const seed = env.EMULATOR_SEED ? await loadSeed(env.EMULATOR_SEED) : {};

  const emulator = await startEmulator({ ...seed, host: env.HOST ?? '127.0.0.1', port, logger: env.EMULATOR_LOG === 'true' });

  const credentials = seed.credentials ?? [DEMO_CREDENTIALS];
  const users = seed.iamUsers ?? [DEMO_IAM_USER];
  const lines = [
    `SMN emulator listening on ${emulator.url}`,
    ...credentials.map((c) => `  AK/SK:     ${c.ak} / ${c.sk}`),
    ...users.map((u) => `  IAM user:  ${u.name} / ${u.password} (domain ${u.domain}), POST ${emulator.url}/v3/auth/tokens`),
    ...emulator.state.projectIds().map((id) => {
      const { region, topics } = emulator.state.snapshot(id);
      return `  project:   ${id} (${region}), topics ${topics.map((t) => t.name).join(', ')}`;
    }),
    `  admin API: ${emulator.url}/_emulator/ (topics, requests, faults, lockouts, reset)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  const stop = (): void => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function loadSeed(value: string): Promise<EmulatorOptions> {
  const text = value.trimStart().startsWith('{') ? value : await readFile(value, 'utf8');
  const parsed = seedSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`EMULATOR_SEED is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
