import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { Scope } from './scopes';
import { didYouMean } from './did-you-mean';
import { csv, fileContent, flag, int, json, list, pairs } from './env-parsers';

/**
 * The one configuration schema. Each concern is a zod object over the environment variables it reads,
 * with its defaults and cross-field rules, turned into the typed, namespaced shape the app injects
 * (`AppConfig`, app-config.ts). The reference (docs/configuration.md, .env.example) is generated from it.
 */

/** What the reference says about a variable. */
export interface VariableDoc {
  description: string;
  /** A credential (or may embed one): never given a default, left empty in `.env.example`. */
  secret?: boolean;
  /** The default in words, for variables whose default the schema derives from other settings. */
  default?: string;
  /**
   * Named as other software names it (NODE_ENV, DATABASE_URL) or too generically (DATA_DIR) for its first
   * word to be a namespace of this service: unknown variables starting like it are someone else's.
   */
  sharedName?: boolean;
}

/** The documentation of every variable, attached to its field below. */
export const variableDocs = z.registry<VariableDoc>();

const doc = <T extends z.ZodType>(schema: T, meta: VariableDoc): T => {
  variableDocs.add(schema, meta);
  return schema;
};

/**
 * Runs a cross-field rule whenever the variables it reads parsed, whatever else failed, so that one start
 * reports every problem (zod skips refinements of an object with failed fields by default).
 */
const reading = (...names: string[]) => ({
  when: (payload: { issues: ReadonlyArray<{ path?: PropertyKey[] }> }) =>
    !payload.issues.some((issue) => !issue.path?.length || names.includes(String(issue.path[0]))),
});

const problem = (ctx: z.RefinementCtx, variable: string, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message });

/** The documented key of the zero-configuration development setup. Never valid in production. */
export const DEVELOPMENT_API_KEY = 'local-development-key';

/** The demo project of the embedded default, which the embedded emulator seeds. */
export const DEMO_PROJECT: { readonly id: string; readonly region: string } = { id: 'f96188c7ccaf4ffba0c9aa149ab2bd57', region: 'cn-north-4' };

/** A proxy URL; empty counts as unset (as `HTTP_PROXY=` in a compose file means). */
const proxyUrl = () =>
  z
    .url({ protocol: /^https?$/ })
    .or(z.literal(''))
    .optional();

const PROJECT_ID = /^[0-9a-f]{32}$/;
const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$/;

export const NODE_ENVS = ['development', 'test', 'production'] as const;

const nodeEnv = doc(
  z
    .enum(NODE_ENVS, {
      error: (issue) => {
        const suggestion = typeof issue.input === 'string' ? didYouMean(issue.input, NODE_ENVS) : undefined;
        return `must be ${NODE_ENVS.slice(0, -1).join(', ')} or ${NODE_ENVS.at(-1)}, not ${JSON.stringify(issue.input)}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`;
      },
    })
    .default('development'),
  {
    description:
      '`production` turns off the emulator default and the development key, refuses the embedded emulator, and requires real caller authentication and an audit signing key.',
    sharedName: true,
  },
);

const general = z.object({ NODE_ENV: nodeEnv });

export const httpVariables = z.object({
  HOST: doc(z.string().min(1).default('127.0.0.1'), { description: 'Listening address (`0.0.0.0` in a container).' }),
  PORT: doc(int(3000).pipe(z.number().max(65535)), { description: 'Listening port (`0`: any free port).' }),
  CORS_ORIGINS: doc(csv(), { description: 'Comma-separated origins allowed to call from a browser; credentials are never allowed.', default: 'none' }),
  TRUSTED_PROXIES: doc(csv(), {
    description: 'Comma-separated proxy addresses/CIDRs whose `X-Forwarded-For` is believed (source IP for the audit and the per-IP limit).',
    default: 'none',
  }),
  SHUTDOWN_GRACE_MS: doc(int(10_000), { description: 'How long in-flight requests may take after SIGTERM/SIGINT.' }),
  // A listener of its own, never PORT: metrics are for the scraper, not for callers (README, Metrics).
  METRICS_PORT: doc(
    z
      .string()
      .default('9464')
      .transform((value, ctx): number | 'off' => {
        if (value === 'off') return value;
        if (/^\d{1,5}$/.test(value) && Number(value) <= 65535) return Number(value);
        ctx.issues.push({ code: 'custom', message: 'must be a port number (0: any free port) or off', input: value });
        return z.NEVER;
      }),
    {
      description:
        'Port of the Prometheus listener that serves `GET /metrics` (`0`: any free port, logged at start; `off`: no listener, metrics are not served). The public `PORT` never serves them.',
    },
  ),
  METRICS_HOST: doc(z.string().min(1).optional(), {
    description: 'Listening address of the metrics listener (e.g. `127.0.0.1` for a scraper on the same host).',
    default: '`HOST`',
  }),
  // Outbound proxy, by curl's names; the lower-case spelling wins when both are set, as in curl and undici.
  HTTP_PROXY: doc(proxyUrl(), {
    description: 'Forward proxy for outbound `http://` requests (SMN, IAM, JWKS); credentials in the URL go to the proxy only.',
    sharedName: true,
    secret: true,
  }),
  http_proxy: doc(proxyUrl(), { description: 'Same as `HTTP_PROXY` (wins when both are set).', sharedName: true, secret: true }),
  HTTPS_PROXY: doc(proxyUrl(), {
    description: 'Forward proxy for outbound `https://` requests, through a CONNECT tunnel (TLS still ends at SMN); falls back to `HTTP_PROXY`.',
    sharedName: true,
    secret: true,
  }),
  https_proxy: doc(proxyUrl(), { description: 'Same as `HTTPS_PROXY` (wins when both are set).', sharedName: true, secret: true }),
  NO_PROXY: doc(z.string().optional(), {
    description: 'Comma-separated hosts (and `.domain` suffixes) reached directly, not through the proxy.',
    sharedName: true,
  }),
  no_proxy: doc(z.string().optional(), { description: 'Same as `NO_PROXY` (wins when both are set).', sharedName: true }),
});

const http = httpVariables
  .superRefine(
    (e, ctx) => {
      const metricsHost = e.METRICS_HOST ?? e.HOST;
      if (e.METRICS_PORT !== 'off' && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT && metricsHost === e.HOST)
        problem(ctx, 'METRICS_PORT', `must differ from PORT (${e.PORT}): metrics have a listener of their own; off turns it off`);
    },
    reading('PORT', 'HOST', 'METRICS_PORT', 'METRICS_HOST'),
  )
  .transform((e) => ({
    host: e.HOST,
    port: e.PORT,
    /** The Prometheus listener (`GET /metrics`); undefined: off. Port 0: any free port. */
    metrics: e.METRICS_PORT === 'off' ? undefined : { host: e.METRICS_HOST ?? e.HOST, port: e.METRICS_PORT },
    corsOrigins: e.CORS_ORIGINS,
    trustedProxies: e.TRUSTED_PROXIES,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    /** Forward proxy of outbound requests (SMN, IAM, JWKS); unset: direct. */
    outboundProxy:
      e.http_proxy || e.HTTP_PROXY || e.https_proxy || e.HTTPS_PROXY
        ? {
            httpProxy: e.http_proxy || e.HTTP_PROXY || undefined,
            httpsProxy: e.https_proxy || e.HTTPS_PROXY || undefined,
            noProxy: e.no_proxy || e.NO_PROXY || undefined,
          }
        : undefined,
  }))
  .readonly();

/**
 * How long the server waits for a caller, so that a slow or stalled client frees its connection (README, Timeouts
 * and encodings): the request line and headers, the whole request with its body, and an idle kept-alive connection.
 */
export const serverVariables = z.object({
  HTTP_HEADERS_TIMEOUT_MS: doc(int(10_000, 100), {
    description:
      'The request line and headers must arrive within this, counted from the first byte (or from the connection); else 408 `BFF.REQUEST_TIMEOUT` and the connection is closed.',
  }),
  HTTP_REQUEST_TIMEOUT_MS: doc(int(10_000, 100), {
    description:
      'The whole request, body included, must arrive within this; else 408 `BFF.REQUEST_TIMEOUT` and the connection is closed. At least `HTTP_HEADERS_TIMEOUT_MS`.',
  }),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: doc(int(5_000, 100), {
    description: 'An idle kept-alive connection is closed after this; behind a load balancer, longer than its idle timeout (or let it close first).',
  }),
});

const server = serverVariables
  .superRefine(
    (e, ctx) => {
      // Node refuses a headers timeout longer than the request timeout, which includes the headers.
      if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS) problem(ctx, 'HTTP_HEADERS_TIMEOUT_MS', 'must not be longer than HTTP_REQUEST_TIMEOUT_MS');
    },
    reading('HTTP_HEADERS_TIMEOUT_MS', 'HTTP_REQUEST_TIMEOUT_MS'),
  )
  .transform((e) => ({
    headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
  }))
  .readonly();

const logVariables = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: doc(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), {
    description: 'pino level; logs are JSON lines, one access line per request; credentials are redacted and query strings never logged.',
  }),
  LOG_PRETTY: doc(flag(), { description: 'Human-readable logs (needs the dev dependency `pino-pretty`).', default: 'on for a TTY in development' }),
});

const log = logVariables
  .transform((e) => ({ level: e.LOG_LEVEL, pretty: e.LOG_PRETTY ?? (e.NODE_ENV === 'development' && Boolean(process.stdout.isTTY)) }))
  .readonly();

/** Project id → region, every entry checked. */
function projectMap(entries: Array<[string, unknown]>, ctx: z.RefinementCtx): ReadonlyMap<string, string> {
  const projects = new Map<string, string>();
  for (const [id, region] of entries) {
    if (!PROJECT_ID.test(id)) ctx.addIssue({ code: 'custom', message: `"${id}" is not a project id (32 lowercase hex characters)` });
    else if (typeof region !== 'string' || !REGION.test(region))
      ctx.addIssue({ code: 'custom', message: `region "${String(region)}" of project ${id} is not a region id` });
    else projects.set(id, region);
  }
  return projects;
}

const smnVariables = z.object({
  NODE_ENV: nodeEnv,
  SMN_EMULATOR: doc(flag(), {
    description: "Run the SMN emulator in-process and point every project's region at it with its demo credentials; `true` is refused in production.",
    default: '`true` unless production',
  }),
  SMN_PROJECTS: doc(
    z
      .string()
      .optional()
      .transform((raw, ctx) => projectMap(pairs(raw), ctx)),
    {
      description:
        '`project_id=region,…`: the projects this BFF serves (others answer 404 without calling SMN). Required (or `SMN_PROJECTS_FILE`) without the emulator.',
      default: 'the demo project with the emulator',
    },
  ),
  SMN_PROJECTS_FILE: doc(
    fileContent()
      .pipe(json(z.record(z.string(), z.unknown(), { error: 'expected a JSON object of project id → region' })))
      .transform((object, ctx) => projectMap(Object.entries(object), ctx))
      .optional(),
    { description: 'The same as a JSON file `{"<project_id>": "<region>"}`.' },
  ),
  SMN_ENDPOINTS: doc(
    z
      .string()
      .optional()
      .transform((raw, ctx): ReadonlyMap<string, string> => {
        const endpoints = new Map<string, string>();
        for (const [region, url] of pairs(raw)) {
          if (!REGION.test(region)) ctx.addIssue({ code: 'custom', message: `"${region}" is not a region id` });
          else if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) ctx.addIssue({ code: 'custom', message: `"${url}" is not an http(s) URL` });
          else endpoints.set(region, url.replace(/\/+$/, ''));
        }
        return endpoints;
      }),
    {
      description: '`region=url,…` overrides of the regional endpoints (the published `.cn`/`.eu` exceptions are built in).',
      default: '`https://smn.{region}.myhuaweicloud.com`',
    },
  ),
  SMN_AUTH_MODE: doc(z.enum(['aksk', 'token']).default('aksk'), {
    description: '`aksk`: sign with `SMN_ACCESS_KEY`/`SMN_SECRET_KEY` (`SMN_SECURITY_TOKEN` for temporary keys). `token`: IAM token mode with `SMN_IAM_*`.',
  }),
  SMN_ACCESS_KEY: doc(z.string().min(1).optional(), { description: "The BFF's own access key (required with `aksk` unless the emulator runs).", secret: true }),
  SMN_SECRET_KEY: doc(z.string().min(1).optional(), { description: "The BFF's own secret key (required with `aksk` unless the emulator runs).", secret: true }),
  SMN_SECURITY_TOKEN: doc(z.string().min(1).optional(), { description: 'Security token of temporary AK/SK.', secret: true }),
  SMN_IAM_ENDPOINT: doc(z.url({ protocol: /^https?$/ }).default('https://iam.myhuaweicloud.com'), { description: 'IAM for token mode.' }),
  SMN_IAM_USER: doc(z.string().min(1).optional(), {
    description: 'IAM user (password flavour) for token mode (required with `token` unless the emulator runs).',
  }),
  SMN_IAM_PASSWORD: doc(z.string().min(1).optional(), {
    description: "The IAM user's password (required with `token` unless the emulator runs).",
    secret: true,
  }),
  SMN_IAM_DOMAIN: doc(z.string().min(1).optional(), { description: "The IAM user's account (domain) name (required with `token` unless the emulator runs)." }),
  SMN_TOKEN_REFRESH_BEFORE_MS: doc(int(30 * 60_000), { description: 'Refresh a token this long before `expires_at` (at most half its lifetime).' }),

  UPSTREAM_ATTEMPT_TIMEOUT_MS: doc(int(2_000, 1), { description: 'Timeout of one HTTP attempt.' }),
  UPSTREAM_DEADLINE_MS: doc(int(8_000, 1), { description: 'Deadline of one operation, retries and backoff included; at least `UPSTREAM_ATTEMPT_TIMEOUT_MS`.' }),
  UPSTREAM_MAX_RETRIES: doc(int(2), { description: 'Retries after the first attempt.' }),
  UPSTREAM_BACKOFF_BASE_MS: doc(int(100), { description: 'Exponential backoff with full jitter, `random(0, min(max, base·2^n))`: the base.' }),
  UPSTREAM_BACKOFF_MAX_MS: doc(int(2_000), { description: 'The backoff maximum.' }),
  UPSTREAM_RETRY_AFTER_CAP_MS: doc(int(5_000), { description: 'Longest `Retry-After` honoured before a retry.' }),
  UPSTREAM_BREAKER_THRESHOLD: doc(int(5, 1), { description: "Consecutive failed attempts that open an endpoint's circuit." }),
  UPSTREAM_BREAKER_HALF_OPEN_MS: doc(int(10_000, 1), { description: 'Time an open circuit waits before letting one probe through.' }),
  UPSTREAM_MAX_SOCKETS: doc(int(64, 1), { description: 'Keep-alive connections per endpoint.' }),
});

const emulated = (e: { NODE_ENV: string; SMN_EMULATOR?: boolean }) => e.SMN_EMULATOR ?? e.NODE_ENV !== 'production';

const smn = smnVariables
  .superRefine(
    (e, ctx) => {
      // Its AK/SK and IAM user are published: production must never sign with them or serve demo data.
      if (e.NODE_ENV === 'production' && e.SMN_EMULATOR === true) {
        problem(
          ctx,
          'SMN_EMULATOR',
          'must not be true in production: the embedded emulator runs on published demo credentials; configure real SMN endpoints and credentials',
        );
      }
    },
    reading('NODE_ENV', 'SMN_EMULATOR'),
  )
  .superRefine(
    (e, ctx) => {
      if (emulated(e)) return;
      const required =
        e.SMN_AUTH_MODE === 'token' ? (['SMN_IAM_USER', 'SMN_IAM_PASSWORD', 'SMN_IAM_DOMAIN'] as const) : (['SMN_ACCESS_KEY', 'SMN_SECRET_KEY'] as const);
      for (const key of required) {
        if (!e[key]) problem(ctx, key, `required when SMN_EMULATOR is false and SMN_AUTH_MODE is ${e.SMN_AUTH_MODE}`);
      }
    },
    reading('NODE_ENV', 'SMN_EMULATOR', 'SMN_AUTH_MODE', 'SMN_ACCESS_KEY', 'SMN_SECRET_KEY', 'SMN_IAM_USER', 'SMN_IAM_PASSWORD', 'SMN_IAM_DOMAIN'),
  )
  .superRefine(
    (e, ctx) => {
      if (!emulated(e) && e.SMN_PROJECTS.size === 0 && !e.SMN_PROJECTS_FILE?.size)
        problem(ctx, 'SMN_PROJECTS', 'required (or SMN_PROJECTS_FILE) when SMN_EMULATOR is false');
    },
    reading('NODE_ENV', 'SMN_EMULATOR', 'SMN_PROJECTS', 'SMN_PROJECTS_FILE'),
  )
  .superRefine(
    (e, ctx) => {
      if (e.UPSTREAM_DEADLINE_MS < e.UPSTREAM_ATTEMPT_TIMEOUT_MS) problem(ctx, 'UPSTREAM_DEADLINE_MS', 'must be at least UPSTREAM_ATTEMPT_TIMEOUT_MS');
    },
    reading('UPSTREAM_DEADLINE_MS', 'UPSTREAM_ATTEMPT_TIMEOUT_MS'),
  )
  .transform((e) => {
    const emulator = emulated(e);
    const projects = new Map([...e.SMN_PROJECTS, ...(e.SMN_PROJECTS_FILE ?? [])]);
    if (projects.size === 0 && emulator) projects.set(DEMO_PROJECT.id, DEMO_PROJECT.region);
    return {
      /** Run the in-process emulator and point every region at it (the zero-configuration default). */
      emulator,
      /** Project id → region; a project not in here answers 404 without calling upstream. */
      projects: projects as ReadonlyMap<string, string>,
      /** Region → base URL overrides; others use `https://smn.{region}.myhuaweicloud.com`. */
      endpoints: e.SMN_ENDPOINTS,
      // With the emulator, main.ts derives a configuration with its URL and demo credentials once it listens.
      auth:
        e.SMN_AUTH_MODE === 'token'
          ? {
              /** Requests carry a project-scoped IAM token (`X-Auth-Token`) obtained with a password. */
              mode: 'token' as const,
              iamEndpoint: e.SMN_IAM_ENDPOINT.replace(/\/+$/, ''),
              user: e.SMN_IAM_USER ?? '',
              password: e.SMN_IAM_PASSWORD ?? '',
              domain: e.SMN_IAM_DOMAIN ?? '',
              refreshBeforeMs: e.SMN_TOKEN_REFRESH_BEFORE_MS,
            }
          : {
              /** Requests signed with the BFF's access key (`SDK-HMAC-SHA256`). */
              mode: 'aksk' as const,
              accessKey: e.SMN_ACCESS_KEY ?? '',
              secretKey: e.SMN_SECRET_KEY ?? '',
              securityToken: e.SMN_SECURITY_TOKEN,
            },
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
    };
  })
  .readonly();

export const DEFAULT_JWT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;

/** Asymmetric algorithms only: `none` and HS* (which a public key could be abused to "sign") can never be enabled. */
export const SUPPORTED_JWT_ALGORITHMS: ReadonlySet<string> = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

const MAX_CLOCK_TOLERANCE_SEC = 300;
const KNOWN_SCOPES: readonly string[] = Object.values(Scope);

/** A service's API key, stored only as the SHA-256 (hex) of the key itself. */
const apiKeyList = z.array(
  z.strictObject({
    name: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the hex SHA-256 of the key'),
    scopes: z.array(
      z.string().refine((scope) => KNOWN_SCOPES.includes(scope), {
        error: (issue) => `unknown scope ${JSON.stringify(issue.input)} (known: ${KNOWN_SCOPES.join(', ')})`,
      }),
    ),
    projects: z.union([z.literal('*'), z.array(z.string())]),
  }),
);

/** An empty value (an empty variable or file) means no keys. */
const apiKeys = () =>
  z
    .string()
    .transform((text) => (text.trim() ? text : '[]'))
    .pipe(json(apiKeyList));

/**
 * Caller AK/SK (README, caller AK/SK for SMN SDK users): access keys this BFF issues to services that speak
 * SMN through a Huawei SDK. Unlike an API key, the secret itself is needed to verify a signature, so it is
 * configured as such (prefer the file) and marked secret: never a default, never in `.env.example`.
 */
const accessKeyList = z.array(
  z
    .strictObject({
      name: z.string().min(1),
      access_key_id: z.string().regex(/^[A-Za-z0-9_-]{8,128}$/, 'must be 8–128 characters of A-Z a-z 0-9 _ -'),
      secret: z.string().min(32, 'must be at least 32 characters (a random secret, e.g. `openssl rand -base64 30`)'),
      scopes: z.array(
        z.string().refine((scope) => KNOWN_SCOPES.includes(scope), {
          error: (issue) => `unknown scope ${JSON.stringify(issue.input)} (known: ${KNOWN_SCOPES.join(', ')})`,
        }),
      ),
      projects: z.union([z.literal('*'), z.array(z.string())]),
    })
    .transform(({ access_key_id, ...entry }) => ({ ...entry, accessKeyId: access_key_id })),
);

const accessKeys = () =>
  z
    .string()
    .transform((text) => (text.trim() ? text : '[]'))
    .pipe(json(accessKeyList, { secret: true }));

/** The caller AK/SK variables, their own object within caller authentication. */
const callerAccessKeyVariables = z.object({
  AUTH_ACCESS_KEYS: doc(accessKeys().optional(), {
    description: `JSON array of \`{"name","access_key_id","secret","scopes":[…],"projects":[…] or "*"}\`: access keys for SMN SDK clients, which sign requests with \`SDK-HMAC-SHA256\` (README, caller AK/SK); the audit names the caller by \`name\`.`,
    secret: true,
  }),
  AUTH_ACCESS_KEYS_FILE: doc(fileContent().pipe(accessKeys()).optional(), {
    description: 'The same array in a file (added to `AUTH_ACCESS_KEYS`); the better place for secrets.',
  }),
});

/** The development key is on exactly when nothing real is configured outside production. */
export function resolveDevelopmentKey(nodeEnv: string, jwt: object | undefined, keys: readonly unknown[]): boolean {
  return nodeEnv !== 'production' && !jwt && keys.length === 0;
}

const authVariables = z.object({
  NODE_ENV: nodeEnv,
  AUTH_JWKS_URL: doc(z.url({ protocol: /^https?$/ }).optional(), {
    description: 'JWKS of the token issuer (`https` in production); this or `AUTH_JWT_PUBLIC_KEY_FILE` turns on bearer JWTs.',
  }),
  AUTH_JWT_PUBLIC_KEY_FILE: doc(z.string().min(1).optional(), { description: 'Instead of a JWKS: a JWK, JWK Set or PEM public key/certificate.' }),
  AUTH_JWT_ISSUER: doc(z.string().min(1).optional(), { description: 'Required `iss` (required when JWT is configured).' }),
  AUTH_JWT_AUDIENCE: doc(z.string().min(1).optional(), { description: 'Required `aud` (required when JWT is configured).' }),
  AUTH_JWT_ALGORITHMS: doc(list(DEFAULT_JWT_ALGORITHMS), { description: 'Allowed algorithms, comma-separated; `none` and HS* can never be enabled.' }),
  AUTH_JWT_CLOCK_TOLERANCE_S: doc(int(30), { description: `Clock tolerance for \`exp\`/\`nbf\` in seconds (≤ ${MAX_CLOCK_TOLERANCE_SEC}).` }),
  AUTH_JWT_PROJECTS_CLAIM: doc(z.string().min(1).default('smn_projects'), { description: 'Claim holding the caller\'s project ids (array) or `"*"`.' }),
  AUTH_JWKS_COOLDOWN_MS: doc(int(30_000), { description: 'At most one JWKS refetch per cooldown for unknown `kid`s.' }),
  AUTH_JWKS_TIMEOUT_MS: doc(int(5_000, 1), { description: 'Timeout of one JWKS fetch.' }),
  AUTH_API_KEYS: doc(apiKeys().optional(), {
    description: `JSON array of \`{"name","sha256","scopes":[…],"projects":[…] or "*"}\` (the SHA-256 of each key, never the key); scopes: ${KNOWN_SCOPES.map((s) => `\`${s}\``).join(', ')}.`,
  }),
  AUTH_API_KEYS_FILE: doc(fileContent().pipe(apiKeys()).optional(), { description: 'The same array in a file (added to `AUTH_API_KEYS`).' }),
  ...callerAccessKeyVariables.shape,
});

const auth = authVariables
  .superRefine(
    (e, ctx) => {
      if (e.AUTH_JWKS_URL && e.AUTH_JWT_PUBLIC_KEY_FILE)
        problem(ctx, 'AUTH_JWT_PUBLIC_KEY_FILE', 'set either AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY_FILE, not both');
    },
    reading('AUTH_JWKS_URL', 'AUTH_JWT_PUBLIC_KEY_FILE'),
  )
  .superRefine(
    (e, ctx) => {
      if (!e.AUTH_JWKS_URL && !e.AUTH_JWT_PUBLIC_KEY_FILE) return;
      for (const key of ['AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE'] as const) {
        if (!e[key]) problem(ctx, key, 'required when JWT is configured (AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY_FILE)');
      }
      const bad = e.AUTH_JWT_ALGORITHMS.filter((a) => !SUPPORTED_JWT_ALGORITHMS.has(a));
      if (bad.length) problem(ctx, 'AUTH_JWT_ALGORITHMS', `not allowed: ${bad.join(', ')} (asymmetric algorithms only, never "none" or HS*)`);
      if (e.AUTH_JWT_CLOCK_TOLERANCE_S > MAX_CLOCK_TOLERANCE_SEC)
        problem(ctx, 'AUTH_JWT_CLOCK_TOLERANCE_S', `must be between 0 and ${MAX_CLOCK_TOLERANCE_SEC} seconds`);
    },
    reading('AUTH_JWKS_URL', 'AUTH_JWT_PUBLIC_KEY_FILE', 'AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE', 'AUTH_JWT_ALGORITHMS', 'AUTH_JWT_CLOCK_TOLERANCE_S'),
  )
  .superRefine(
    (e, ctx) => {
      // Over plain HTTP anyone on the path could publish their own signing keys.
      if (e.NODE_ENV === 'production' && e.AUTH_JWKS_URL && new URL(e.AUTH_JWKS_URL).protocol !== 'https:')
        problem(ctx, 'AUTH_JWKS_URL', 'must use https in production');
    },
    reading('NODE_ENV', 'AUTH_JWKS_URL'),
  )
  .superRefine(
    (e, ctx) => {
      const names = new Set<string>();
      const hashes = new Set<string>();
      const developmentKeyHash = createHash('sha256').update(DEVELOPMENT_API_KEY, 'utf8').digest('hex');
      for (const variable of ['AUTH_API_KEYS', 'AUTH_API_KEYS_FILE'] as const) {
        for (const key of e[variable] ?? []) {
          if (names.has(key.name)) problem(ctx, variable, `API key "${key.name}" is configured twice`);
          else if (hashes.has(key.sha256)) problem(ctx, variable, `API key "${key.name}" has the same hash as another key`);
          if (e.NODE_ENV === 'production' && key.sha256 === developmentKeyHash) {
            problem(ctx, variable, `API key "${key.name}" is the publicly documented development key "${DEVELOPMENT_API_KEY}"; issue a real key`);
          }
          names.add(key.name);
          hashes.add(key.sha256);
        }
      }
    },
    reading('NODE_ENV', 'AUTH_API_KEYS', 'AUTH_API_KEYS_FILE'),
  )
  .superRefine(
    (e, ctx) => {
      const names = new Set<string>();
      const ids = new Set<string>();
      for (const variable of ['AUTH_ACCESS_KEYS', 'AUTH_ACCESS_KEYS_FILE'] as const) {
        for (const key of e[variable] ?? []) {
          if (names.has(key.name)) problem(ctx, variable, `access key "${key.name}" is configured twice`);
          else if (ids.has(key.accessKeyId)) problem(ctx, variable, `access key "${key.name}" has the same access_key_id as another key`);
          names.add(key.name);
          ids.add(key.accessKeyId);
        }
      }
    },
    reading('AUTH_ACCESS_KEYS', 'AUTH_ACCESS_KEYS_FILE'),
  )
  .superRefine(
    (e, ctx) => {
      const real =
        e.AUTH_JWKS_URL ||
        e.AUTH_JWT_PUBLIC_KEY_FILE ||
        e.AUTH_API_KEYS?.length ||
        e.AUTH_API_KEYS_FILE?.length ||
        e.AUTH_ACCESS_KEYS?.length ||
        e.AUTH_ACCESS_KEYS_FILE?.length;
      if (e.NODE_ENV === 'production' && !real) {
        problem(
          ctx,
          'AUTH_API_KEYS',
          'no caller authentication is configured, and production requires it: set API keys (AUTH_API_KEYS or AUTH_API_KEYS_FILE), access keys (AUTH_ACCESS_KEYS or AUTH_ACCESS_KEYS_FILE) or a JWT issuer (AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY_FILE); the development key is never accepted in production',
        );
      }
    },
    reading('NODE_ENV', 'AUTH_JWKS_URL', 'AUTH_JWT_PUBLIC_KEY_FILE', 'AUTH_API_KEYS', 'AUTH_API_KEYS_FILE', 'AUTH_ACCESS_KEYS', 'AUTH_ACCESS_KEYS_FILE'),
  )
  .transform((e) => {
    const jwt =
      e.AUTH_JWKS_URL || e.AUTH_JWT_PUBLIC_KEY_FILE
        ? {
            /** Remote key set; exactly one of `jwksUrl` and `publicKeyFile` is set. */
            jwksUrl: e.AUTH_JWKS_URL,
            /** Local JWK, JWK Set (JSON) or PEM public key / certificate. */
            publicKeyFile: e.AUTH_JWT_PUBLIC_KEY_FILE,
            issuer: e.AUTH_JWT_ISSUER ?? '',
            audience: e.AUTH_JWT_AUDIENCE ?? '',
            algorithms: e.AUTH_JWT_ALGORITHMS,
            clockToleranceSec: e.AUTH_JWT_CLOCK_TOLERANCE_S,
            /** Claim with the caller's project ids (array) or `"*"` for all projects. */
            projectsClaim: e.AUTH_JWT_PROJECTS_CLAIM,
            /** Minimum time between two JWKS fetches (unknown `kid`, failures). */
            jwksCooldownMs: e.AUTH_JWKS_COOLDOWN_MS,
            jwksTimeoutMs: e.AUTH_JWKS_TIMEOUT_MS,
          }
        : undefined;
    const keys = [...(e.AUTH_API_KEYS ?? []), ...(e.AUTH_API_KEYS_FILE ?? [])];
    /** Caller AK/SK: requests signed `SDK-HMAC-SHA256` with one of these keys. */
    const accessKeys = [...(e.AUTH_ACCESS_KEYS ?? []), ...(e.AUTH_ACCESS_KEYS_FILE ?? [])];
    return {
      nodeEnv: e.NODE_ENV,
      jwt,
      apiKeys: keys,
      accessKeys,
      /** Accept `local-development-key` (with every scope on every project); see `resolveDevelopmentKey`. */
      developmentKey: resolveDevelopmentKey(e.NODE_ENV, jwt, [...keys, ...accessKeys]),
    };
  })
  .readonly();

const rateLimitVariables = z.object({
  RATE_LIMIT_TTL_MS: doc(int(60_000, 1), { description: 'Rate-limit window.' }),
  RATE_LIMIT_CALLER_LIMIT: doc(int(600, 1), { description: 'Requests per window per authenticated caller.' }),
  RATE_LIMIT_ANONYMOUS_LIMIT: doc(int(30, 1), { description: 'Failed-authentication requests per window per source IP.' }),
  REDIS_URL: doc(
    z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// URL')
      .optional(),
    {
      description: 'Shared rate-limit counters for several instances (else in memory per instance).',
      secret: true,
      sharedName: true,
    },
  ),
  RATE_LIMIT_REDIS_TIMEOUT_MS: doc(int(100, 1), {
    description: 'A Redis command that takes longer fails, and counting moves to this instance until Redis answers again.',
  }),
  RATE_LIMIT_REDIS_PROBE_MS: doc(int(1_000, 50), { description: 'While Redis is away, how often a background PING checks whether it is back.' }),
  RATE_LIMIT_REDIS_PREFIX: doc(z.string().min(1).default('sms-callback-bff:rl:'), {
    description: 'Prefix of every rate-limit key in Redis: deployments that share one Redis but not their budgets use different ones.',
  }),
});

const rateLimit = rateLimitVariables
  .transform((e) => ({
    /** Per authenticated caller (`kind:subject[:client]`): at most `limit` requests per `ttlMs` window. */
    caller: { ttlMs: e.RATE_LIMIT_TTL_MS, limit: e.RATE_LIMIT_CALLER_LIMIT },
    /** Per source IP, charged only by requests that fail authentication. */
    anonymousIp: { ttlMs: e.RATE_LIMIT_TTL_MS, limit: e.RATE_LIMIT_ANONYMOUS_LIMIT },
    /** When set, counters live in Redis so that all instances share them. */
    redisUrl: e.REDIS_URL,
    /** Bounds what a stalled Redis costs a request; then requests count in memory without waiting on it. */
    redisCommandTimeoutMs: e.RATE_LIMIT_REDIS_TIMEOUT_MS,
    /** Recovery is found by a background probe, not by a request paying for the try. */
    redisProbeIntervalMs: e.RATE_LIMIT_REDIS_PROBE_MS,
    redisKeyPrefix: e.RATE_LIMIT_REDIS_PREFIX,
  }))
  .readonly();

export const auditVariables = z.object({
  NODE_ENV: nodeEnv,
  DATABASE_URL: doc(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    {
      description: 'PostgreSQL for the audit (required for more than one instance); unset: embedded PGlite under `DATA_DIR`.',
      secret: true,
      sharedName: true,
    },
  ),
  DATA_DIR: doc(z.string().min(1).default('./data'), {
    description: 'Embedded store (`audit/`) and, outside production, the generated signing key (`audit-signing-key.pem`).',
    sharedName: true,
  }),
  AUDIT_SIGNING_KEY: doc(z.string().includes('PRIVATE KEY', { message: 'must be a PEM private key' }).optional(), {
    description: 'Ed25519 private key (PKCS#8 PEM) that signs every record; required in production (or `AUDIT_SIGNING_KEY_FILE`).',
    default: 'generated outside production',
    secret: true,
  }),
  AUDIT_SIGNING_KEY_FILE: doc(fileContent().optional(), { description: 'The same key in a file.' }),
  AUDIT_PUBLIC_KEY: doc(z.string().includes('PUBLIC KEY', { message: 'must be a PEM public key' }).optional(), {
    description: '`audit:verify` only: the Ed25519 public key (SPKI PEM) to verify with.',
    default: 'derived from the signing key',
  }),
  AUDIT_PUBLIC_KEY_FILE: doc(z.string().min(1).optional(), { description: '`audit:verify` only: the same key in a file.' }),
  AUDIT_CHECKPOINT_EVERY_RECORDS: doc(int(1_000, 1), {
    description: 'A signed checkpoint of the chain head is logged (`"msg":"audit checkpoint"`) after this many records.',
  }),
  AUDIT_CHECKPOINT_INTERVAL_MS: doc(int(300_000, 1_000), { description: '… and this often when the head moved.' }),
  CHANGE_DEADLINE_MS: doc(int(15_000, 500), {
    description: 'Total deadline of one PUT from arrival: lock wait, read-before, intent, SMN call and final record.',
  }),
  CHANGE_LOCK_WAIT_MS: doc(int(5_000, 1), {
    description:
      "The share of it a PUT may wait for its project's lock (in arrival order, in the process), then 503 `BFF.PROJECT_BUSY`. Must be below `CHANGE_DEADLINE_MS`.",
  }),
  AUDIT_STATEMENT_TIMEOUT_MS: doc(int(2_000, 100), {
    description: '`statement_timeout` of every audit query, client-side give-up time, and the share of the deadline kept for the final record.',
  }),
  AUDIT_POOL_MAX: doc(int(10, 1), { description: 'PostgreSQL connections for queries.' }),
  AUDIT_LOCK_POOL_MAX: doc(int(30, 1), { description: 'PostgreSQL connections for project locks (one per project with a change in flight on this instance).' }),
  AUDIT_LEASE_TTL_MS: doc(int(20_000, 300), {
    description: "This instance's lease, renewed every third of it; intents of an instance whose lease expired are finalised `unknown`.",
  }),
  AUDIT_STALE_MARGIN_MS: doc(int(15_000), {
    description: 'An intent committed more than `CHANGE_DEADLINE_MS` + this ago is finalised `unknown` whatever its lease says.',
  }),
  AUDIT_SWEEP_INTERVAL_MS: doc(int(10_000, 100), {
    description: 'How often leftover intents and records kept while the store was down are handled (and once at start).',
  }),
});

/** Where the embedded store lives under `DATA_DIR` (the server and `audit:verify` agree on it). */
export const auditDataDir = (dataDir: string): string => join(dataDir, 'audit');

const audit = auditVariables
  .superRefine(
    (e, ctx) => {
      if (e.NODE_ENV === 'production' && !e.AUDIT_SIGNING_KEY && !e.AUDIT_SIGNING_KEY_FILE) {
        problem(
          ctx,
          'AUDIT_SIGNING_KEY',
          'required in production (or AUDIT_SIGNING_KEY_FILE): the key that signs audit records must live outside the database',
        );
      }
    },
    reading('NODE_ENV', 'AUDIT_SIGNING_KEY', 'AUDIT_SIGNING_KEY_FILE'),
  )
  .superRefine(
    (e, ctx) => {
      if (e.CHANGE_LOCK_WAIT_MS >= e.CHANGE_DEADLINE_MS) {
        problem(ctx, 'CHANGE_LOCK_WAIT_MS', 'must be less than CHANGE_DEADLINE_MS (the lock wait is a share of the whole change deadline)');
      }
    },
    reading('CHANGE_LOCK_WAIT_MS', 'CHANGE_DEADLINE_MS'),
  )
  .transform((e) => ({
    /** PostgreSQL; unset means the embedded PGlite store under `dataDir`. */
    databaseUrl: e.DATABASE_URL,
    dataDir: auditDataDir(e.DATA_DIR),
    /** Ed25519 private key (PKCS#8 PEM); generated under the data directory when unset (not in production). */
    signingKeyPem: e.AUDIT_SIGNING_KEY ?? e.AUDIT_SIGNING_KEY_FILE,
    /** The whole PUT — lock wait, read-before, intent, upstream, final record — ends within this. */
    changeDeadlineMs: e.CHANGE_DEADLINE_MS,
    /** The share of the deadline a PUT may wait for its project's lock (then 503 `BFF.PROJECT_BUSY`). */
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
  }))
  .readonly();

/**
 * Tracing (README, Tracing): off unless an OTLP endpoint is set. These are OpenTelemetry's own names, so they are
 * `sharedName`s: `OTEL_` is the SDK's namespace, not this service's, and the standard variables the SDK reads
 * itself (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_*`, `OTEL_TRACES_SAMPLER`, …) are accepted, not refused as typos.
 */
const otlpUrl = () =>
  z
    .url({ protocol: /^https?$/ })
    .or(z.literal(''))
    .optional();

const tracingVariables = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: doc(otlpUrl(), {
    description:
      'OTLP/HTTP base URL of a collector (e.g. `http://otel-collector:4318`): turns tracing on, spans go to `{url}/v1/traces` as OTLP JSON. Unset or empty: tracing is off and costs nothing. The SDK reads the other standard `OTEL_*` variables itself from the process environment (not from `.env`): `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_TRACES_SAMPLER`, `OTEL_RESOURCE_ATTRIBUTES`, …; misspelt `OTEL_*` names are not caught.',
    sharedName: true,
  }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: doc(otlpUrl(), {
    description: 'The traces URL itself, used as it is (wins over `OTEL_EXPORTER_OTLP_ENDPOINT`); turns tracing on too.',
    sharedName: true,
  }),
  OTEL_SERVICE_NAME: doc(z.string().min(1).default('sms-callback-bff'), {
    description: '`service.name` of every span (wins over one in `OTEL_RESOURCE_ATTRIBUTES`).',
    sharedName: true,
  }),
  OTEL_SDK_DISABLED: doc(flag(), { description: '`true` turns tracing off whatever the endpoints say.', default: '`false`', sharedName: true }),
});

const tracing = tracingVariables
  .transform((e) => {
    // OTLP/HTTP: the signal's path is appended to the base URL, a signal-specific URL is used as it is.
    const base = e.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
    const tracesUrl = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
    return {
      /** Where spans are exported (OTLP/HTTP JSON); unset: tracing is off. */
      tracesUrl: e.OTEL_SDK_DISABLED ? undefined : tracesUrl,
      serviceName: e.OTEL_SERVICE_NAME,
    };
  })
  .readonly();

/** The concerns in reference order; a variable several concerns read (NODE_ENV) is documented under the first. */
export const CONCERNS = [
  { key: 'nodeEnv', title: 'General', variables: general },
  { key: 'http', title: 'HTTP server', variables: httpVariables },
  { key: 'server', title: 'Timeouts of inbound connections', variables: serverVariables },
  { key: 'log', title: 'Logs', variables: logVariables },
  { key: 'smn', title: 'SMN and the upstream policy', variables: smnVariables },
  { key: 'auth', title: 'Caller authentication', variables: authVariables },
  { key: 'rateLimit', title: 'Rate limits', variables: rateLimitVariables },
  { key: 'audit', title: 'Audit and the change pipeline', variables: auditVariables },
  { key: 'tracing', title: 'Tracing (OpenTelemetry)', variables: tracingVariables },
] as const;

const concerns = {
  nodeEnv: general.transform((e) => e.NODE_ENV),
  http,
  server,
  log,
  smn,
  auth,
  rateLimit,
  audit,
  tracing,
};

/** The whole environment in, the typed configuration out; every concern reads its own variables from it. */
export const configSchema = z.preprocess((env) => Object.fromEntries(Object.keys(concerns).map((key) => [key, env])), z.object(concerns)).readonly();

const VARIABLES: ReadonlyMap<string, z.core.$ZodType> = new Map(
  CONCERNS.flatMap((concern) => Object.entries(concern.variables.shape as Record<string, z.core.$ZodType>)),
);

/** Every variable the schema reads. */
export const VARIABLE_NAMES: ReadonlySet<string> = new Set(VARIABLES.keys());

/**
 * The name prefixes that are this service's namespaces, derived from the variable names: the first word of
 * each (`SMN_`), or the words its variables share (`RATE_LIMIT_`); not the first word of a `sharedName`.
 */
export const VARIABLE_PREFIXES: readonly string[] = (() => {
  const byFirstWord = new Map<string, string[]>();
  for (const [name, schema] of VARIABLES) {
    const at = name.indexOf('_');
    if (at < 0 || variableDocs.get(schema)?.sharedName) continue;
    const word = name.slice(0, at + 1);
    byFirstWord.set(word, [...(byFirstWord.get(word) ?? []), name]);
  }
  return [...byFirstWord.values()].map((names) => {
    let prefix = names.length === 1 ? names[0].slice(0, names[0].indexOf('_') + 1) : names[0].slice(0, names[0].lastIndexOf('_') + 1);
    while (!names.every((name) => name.startsWith(prefix))) prefix = prefix.slice(0, prefix.slice(0, -1).lastIndexOf('_') + 1);
    return prefix;
  });
})();
