import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ApiKeyEntry, AuthOptions, DEFAULT_JWT_ALGORITHMS, assertAuthConfiguration, resolveDevelopmentKey } from '../auth/auth.options';
import { AppConfig } from './app-config';
import { csv, int, pairs } from './env-parsers';

export const PROJECT_ID = /^[0-9a-f]{32}$/;
const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$/;
/** A proxy URL; empty counts as unset (as `HTTP_PROXY=` in a compose file means). */
const proxyUrl = z.url({ protocol: /^https?$/ }).or(z.literal('')).optional();

/** The demo project of the embedded default (design §8, issue 2). */
export const DEMO_PROJECT = { id: 'f96188c7ccaf4ffba0c9aa149ab2bd57', region: 'cn-north-4' };

const schema = z
  .object({
    NODE_ENV: z.string().default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: int(3000).pipe(z.number().max(65535)),
    CORS_ORIGINS: csv,
    TRUSTED_PROXIES: csv,
    SHUTDOWN_GRACE_MS: int(10_000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_PRETTY: z.enum(['true', 'false']).optional(),

    SMN_EMULATOR: z.enum(['true', 'false']).optional(),
    SMN_PROJECTS: z.string().optional(),
    SMN_PROJECTS_FILE: z.string().optional(),
    SMN_ENDPOINTS: z.string().optional(),
    SMN_ACCESS_KEY: z.string().min(1).optional(),
    SMN_SECRET_KEY: z.string().min(1).optional(),
    SMN_SECURITY_TOKEN: z.string().min(1).optional(),
    SMN_AUTH_MODE: z.enum(['aksk', 'token']).default('aksk'),
    SMN_IAM_ENDPOINT: z.url({ protocol: /^https?$/ }).default('https://iam.myhuaweicloud.com'),
    SMN_IAM_USER: z.string().min(1).optional(),
    SMN_IAM_PASSWORD: z.string().min(1).optional(),
    SMN_IAM_DOMAIN: z.string().min(1).optional(),
    SMN_TOKEN_REFRESH_BEFORE_MS: int(30 * 60_000),

    AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
    AUTH_JWT_PUBLIC_KEY_FILE: z.string().min(1).optional(),
    AUTH_JWT_ISSUER: z.string().min(1).optional(),
    AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
    AUTH_JWT_ALGORITHMS: csv.transform((list) => (list.length ? list : DEFAULT_JWT_ALGORITHMS)),
    AUTH_JWT_CLOCK_TOLERANCE_S: int(30),
    AUTH_JWT_PROJECTS_CLAIM: z.string().min(1).default('smn_projects'),
    AUTH_JWKS_COOLDOWN_MS: int(30_000),
    AUTH_API_KEYS: z.string().optional(),
    AUTH_API_KEYS_FILE: z.string().min(1).optional(),
    RATE_LIMIT_TTL_MS: int(60_000, 1),
    RATE_LIMIT_CALLER_LIMIT: int(600, 1),
    RATE_LIMIT_ANONYMOUS_LIMIT: int(30, 1),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),

    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
    DATA_DIR: z.string().min(1).default('./data'),
    AUDIT_SIGNING_KEY: z.string().includes('PRIVATE KEY', { message: 'must be a PEM private key' }).optional(),
    AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional(),
    AUDIT_SWEEP_INTERVAL_MS: int(10_000, 100),
    AUDIT_STALE_MARGIN_MS: int(15_000),
    AUDIT_LEASE_TTL_MS: int(20_000, 300),
    AUDIT_STATEMENT_TIMEOUT_MS: int(2_000, 100),
    AUDIT_POOL_MAX: int(10, 1),
    AUDIT_LOCK_POOL_MAX: int(30, 1),
    AUDIT_CHECKPOINT_EVERY_RECORDS: int(1_000, 1),
    AUDIT_CHECKPOINT_INTERVAL_MS: int(300_000, 1_000),
    CHANGE_DEADLINE_MS: int(15_000, 500),
    CHANGE_LOCK_WAIT_MS: int(5_000, 1),

    UPSTREAM_ATTEMPT_TIMEOUT_MS: int(2_000, 1),
    UPSTREAM_DEADLINE_MS: int(8_000, 1),
    UPSTREAM_MAX_RETRIES: int(2),
    UPSTREAM_BACKOFF_BASE_MS: int(100),
    UPSTREAM_BACKOFF_MAX_MS: int(2_000),
    UPSTREAM_RETRY_AFTER_CAP_MS: int(5_000),
    UPSTREAM_BREAKER_THRESHOLD: int(5, 1),
    UPSTREAM_BREAKER_HALF_OPEN_MS: int(10_000, 1),
    UPSTREAM_MAX_SOCKETS: int(64, 1),

    // Outbound proxy, by curl's names; the lower-case spelling wins when both are set, as in curl and undici.
    HTTP_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    HTTPS_PROXY: proxyUrl,
    https_proxy: proxyUrl,
    NO_PROXY: z.string().optional(),
    no_proxy: z.string().optional(),
  });

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the whole environment at once and reports every problem in one error. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = schema.safeParse(env);
  const problems = [
    ...(parsed.error?.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`) ?? []),
    ...crossFieldProblems(env),
  ];
  if (!parsed.success) throw new ConfigError(problems);
  const e = parsed.data;
  const emulator = isEmulated(env);

  const projects = parseProjects(e.SMN_PROJECTS, e.SMN_PROJECTS_FILE, problems);
  if (projects.size === 0 && emulator) projects.set(DEMO_PROJECT.id, DEMO_PROJECT.region);
  const endpoints = new Map<string, string>();
  for (const [region, url] of pairs(e.SMN_ENDPOINTS)) {
    if (!REGION.test(region)) problems.push(`SMN_ENDPOINTS: "${region}" is not a region id`);
    else if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) problems.push(`SMN_ENDPOINTS: "${url}" is not an http(s) URL`);
    else endpoints.set(region, url.replace(/\/+$/, ''));
  }
  const auth = authOptions(e, problems);
  const signingKeyPem = e.AUDIT_SIGNING_KEY ?? readSecretFile('AUDIT_SIGNING_KEY_FILE', e.AUDIT_SIGNING_KEY_FILE, problems);
  if (problems.length) throw new ConfigError(problems);

  return Object.assign(new AppConfig(), {
    nodeEnv: e.NODE_ENV,
    http: {
      host: e.HOST,
      port: e.PORT,
      corsOrigins: e.CORS_ORIGINS,
      trustedProxies: e.TRUSTED_PROXIES,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
      outboundProxy:
        e.http_proxy || e.HTTP_PROXY || e.https_proxy || e.HTTPS_PROXY
          ? {
              httpProxy: e.http_proxy || e.HTTP_PROXY || undefined,
              httpsProxy: e.https_proxy || e.HTTPS_PROXY || undefined,
              noProxy: e.no_proxy || e.NO_PROXY || undefined,
            }
          : undefined,
    },
    log: { level: e.LOG_LEVEL, pretty: e.LOG_PRETTY ? e.LOG_PRETTY === 'true' : e.NODE_ENV === 'development' && !!process.stdout.isTTY },
    auth,
    rateLimit: {
      caller: { ttlMs: e.RATE_LIMIT_TTL_MS, limit: e.RATE_LIMIT_CALLER_LIMIT },
      anonymousIp: { ttlMs: e.RATE_LIMIT_TTL_MS, limit: e.RATE_LIMIT_ANONYMOUS_LIMIT },
      redisUrl: e.REDIS_URL,
    },
    audit: {
      databaseUrl: e.DATABASE_URL,
      dataDir: join(e.DATA_DIR, 'audit'),
      signingKeyPem,
      changeDeadlineMs: e.CHANGE_DEADLINE_MS,
      lockWaitMs: e.CHANGE_LOCK_WAIT_MS,
      statementTimeoutMs: e.AUDIT_STATEMENT_TIMEOUT_MS,
      poolMax: e.AUDIT_POOL_MAX,
      lockPoolMax: e.AUDIT_LOCK_POOL_MAX,
      leaseTtlMs: e.AUDIT_LEASE_TTL_MS,
      // An intent older than the whole change deadline plus this margin (counted from its commit) cannot
      // belong to a request still in flight, whatever its instance's lease says.
      staleAfterMs: e.CHANGE_DEADLINE_MS + e.AUDIT_STALE_MARGIN_MS,
      sweepIntervalMs: e.AUDIT_SWEEP_INTERVAL_MS,
      checkpointEveryRecords: e.AUDIT_CHECKPOINT_EVERY_RECORDS,
      checkpointIntervalMs: e.AUDIT_CHECKPOINT_INTERVAL_MS,
    },
    smn: {
      emulator,
      projects,
      endpoints,
      // With the emulator, its demo credentials are filled in at boot (main.ts) once it listens.
      auth:
        e.SMN_AUTH_MODE === 'token'
          ? {
              mode: 'token' as const,
              iamEndpoint: e.SMN_IAM_ENDPOINT.replace(/\/+$/, ''),
              user: e.SMN_IAM_USER ?? '',
              password: e.SMN_IAM_PASSWORD ?? '',
              domain: e.SMN_IAM_DOMAIN ?? '',
              refreshBeforeMs: e.SMN_TOKEN_REFRESH_BEFORE_MS,
            }
          : { mode: 'aksk' as const, accessKey: e.SMN_ACCESS_KEY ?? '', secretKey: e.SMN_SECRET_KEY ?? '', securityToken: e.SMN_SECURITY_TOKEN },
      upstream: {
        attemptTimeoutMs: e.UPSTREAM_ATTEMPT_TIMEOUT_MS,
        deadlineMs: e.UPSTREAM_DEADLINE_MS,
        maxRetries: e.UPSTREAM_MAX_RETRIES,
        backoffBaseMs: e.UPSTREAM_BACKOFF_BASE_MS,
        backoffMaxMs: e.UPSTREAM_BACKOFF_MAX_MS,
        retryAfterCapMs: e.UPSTREAM_RETRY_AFTER_CAP_MS,
        breakerThreshold: e.UPSTREAM_BREAKER_THRESHOLD,
        breakerHalfOpenAfterMs: e.UPSTREAM_BREAKER_HALF_OPEN_MS,
        maxSockets: e.UPSTREAM_MAX_SOCKETS,
      },
    },
  });
}

type Env = z.infer<typeof schema>;

const apiKeysSchema = z.array(
  z.strictObject({
    name: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the hex SHA-256 of the key'),
    scopes: z.array(z.string()),
    projects: z.union([z.literal('*'), z.array(z.string())]),
  }),
);

/** Caller authentication (design §4), checked as a whole by the auth module's own rules. */
function authOptions(e: Env, problems: string[]): AuthOptions {
  const jwt =
    e.AUTH_JWKS_URL || e.AUTH_JWT_PUBLIC_KEY_FILE
      ? {
          jwksUrl: e.AUTH_JWKS_URL,
          publicKeyFile: e.AUTH_JWT_PUBLIC_KEY_FILE,
          issuer: e.AUTH_JWT_ISSUER ?? '',
          audience: e.AUTH_JWT_AUDIENCE ?? '',
          algorithms: e.AUTH_JWT_ALGORITHMS,
          clockToleranceSec: e.AUTH_JWT_CLOCK_TOLERANCE_S,
          projectsClaim: e.AUTH_JWT_PROJECTS_CLAIM,
          jwksCooldownMs: e.AUTH_JWKS_COOLDOWN_MS,
        }
      : undefined;
  const apiKeys = [
    ...parseApiKeys('AUTH_API_KEYS', e.AUTH_API_KEYS, problems),
    ...parseApiKeys('AUTH_API_KEYS_FILE', readSecretFile('AUTH_API_KEYS_FILE', e.AUTH_API_KEYS_FILE, problems), problems),
  ];
  const options: AuthOptions = { nodeEnv: e.NODE_ENV, jwt, apiKeys, developmentKey: resolveDevelopmentKey(e.NODE_ENV, jwt, apiKeys) };
  try {
    assertAuthConfiguration(options, e.NODE_ENV);
  } catch (error) {
    problems.push((error as Error).message);
  }
  return options;
}

/** A JSON array of `{name, sha256, scopes, projects}`. */
function parseApiKeys(name: string, json: string | undefined, problems: string[]): ApiKeyEntry[] {
  if (!json) return [];
  try {
    const parsed = apiKeysSchema.safeParse(JSON.parse(json));
    if (parsed.success) return parsed.data;
    problems.push(...parsed.error.issues.map((issue) => `${name}[${issue.path.join('.')}]: ${issue.message}`));
  } catch (error) {
    problems.push(`${name}: ${(error as Error).message}`);
  }
  return [];
}

function readSecretFile(name: string, path: string | undefined, problems: string[]): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`${name}: ${(error as Error).message}`);
    return undefined;
  }
}

function isEmulated(env: NodeJS.ProcessEnv): boolean {
  return env.SMN_EMULATOR ? env.SMN_EMULATOR === 'true' : (env.NODE_ENV ?? 'development') !== 'production';
}

/** Rules that span variables; checked on the raw environment so they are reported with all the others. */
function crossFieldProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  if (!isEmulated(env)) {
    const required = env.SMN_AUTH_MODE === 'token' ? ['SMN_IAM_USER', 'SMN_IAM_PASSWORD', 'SMN_IAM_DOMAIN'] : ['SMN_ACCESS_KEY', 'SMN_SECRET_KEY'];
    for (const key of required) {
      if (!env[key]) problems.push(`${key}: required when SMN_EMULATOR is false and SMN_AUTH_MODE is ${env.SMN_AUTH_MODE ?? 'aksk'}`);
    }
    if (!env.SMN_PROJECTS && !env.SMN_PROJECTS_FILE) problems.push('SMN_PROJECTS: required (or SMN_PROJECTS_FILE) when SMN_EMULATOR is false');
  }
  if (env.NODE_ENV === 'production' && !env.AUDIT_SIGNING_KEY && !env.AUDIT_SIGNING_KEY_FILE) {
    problems.push('AUDIT_SIGNING_KEY: required in production (or AUDIT_SIGNING_KEY_FILE): the key that signs audit records must live outside the database');
  }
  if (Number(env.CHANGE_LOCK_WAIT_MS ?? 5_000) >= Number(env.CHANGE_DEADLINE_MS ?? 15_000)) {
    problems.push('CHANGE_LOCK_WAIT_MS: must be less than CHANGE_DEADLINE_MS (the lock wait is a share of the whole change deadline)');
  }
  if (Number(env.UPSTREAM_DEADLINE_MS ?? 8_000) < Number(env.UPSTREAM_ATTEMPT_TIMEOUT_MS ?? 2_000)) {
    problems.push('UPSTREAM_DEADLINE_MS: must be at least UPSTREAM_ATTEMPT_TIMEOUT_MS');
  }
  return problems;
}

/** `SMN_PROJECTS=pid=region,…` and/or `SMN_PROJECTS_FILE` (JSON object `{ "<pid>": "<region>" }`). */
function parseProjects(inline: string | undefined, file: string | undefined, problems: string[]): Map<string, string> {
  const entries: Array<[string, string]> = pairs(inline);
  if (file) {
    try {
      const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error('expected a JSON object of project id → region');
      entries.push(...Object.entries(json as Record<string, unknown>).map(([k, v]): [string, string] => [k, String(v)]));
    } catch (error) {
      problems.push(`SMN_PROJECTS_FILE: ${(error as Error).message}`);
    }
  }
  const projects = new Map<string, string>();
  for (const [id, region] of entries) {
    if (!PROJECT_ID.test(id)) problems.push(`SMN_PROJECTS: "${id}" is not a project id (32 lowercase hex characters)`);
    else if (!REGION.test(region)) problems.push(`SMN_PROJECTS: region "${region}" of project ${id} is not a region id`);
    else projects.set(id, region);
  }
  return projects;
}
