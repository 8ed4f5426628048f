import type { AuthOptions } from '../auth/auth.options';
import type { OutboundProxyConfig } from '../http/outbound-http.options';
import type { RateLimitOptions } from '../rate-limit/rate-limit.options';

/** The validated configuration, namespaced. Built once at boot by `loadConfig`; injected as `AppConfig`. */
export class AppConfig {
  nodeEnv!: string;
  http!: {
    host: string;
    port: number;
    corsOrigins: string[];
    trustedProxies: string[];
    shutdownGraceMs: number;
    /** Forward proxy of outbound requests (SMN, IAM, JWKS); unset: direct. */
    outboundProxy?: OutboundProxyConfig;
  };
  log!: { level: string; pretty: boolean };
  smn!: SmnConfig;
  auth!: AuthOptions;
  rateLimit!: RateLimitOptions;
  audit!: {
    /** PostgreSQL; unset means the embedded PGlite store under `dataDir`. */
    databaseUrl?: string;
    dataDir: string;
    /** Ed25519 private key (PKCS#8 PEM); generated under the data directory when unset (not in production). */
    signingKeyPem?: string;
    /** The whole PUT — lock wait, read-before, intent, upstream, final record — ends within this. */
    changeDeadlineMs: number;
    /** The share of the deadline a PUT may wait for its project's lock (then 503 `BFF.PROJECT_BUSY`). */
    lockWaitMs: number;
    statementTimeoutMs: number;
    poolMax: number;
    lockPoolMax: number;
    leaseTtlMs: number;
    staleAfterMs: number;
    sweepIntervalMs: number;
    checkpointEveryRecords: number;
    checkpointIntervalMs: number;
  };

  get production(): boolean {
    return this.nodeEnv === 'production';
  }
}

export interface SmnConfig {
  /** Run the in-process emulator and point every region at it (the zero-configuration default). */
  emulator: boolean;
  /** Project id → region; a project not in here answers 404 without calling upstream. */
  projects: Map<string, string>;
  /** Region → base URL overrides; others use `https://smn.{region}.myhuaweicloud.com`. */
  endpoints: Map<string, string>;
  auth: AkSkAuth | IamTokenAuth;
  upstream: UpstreamPolicyConfig;
}

/** Requests signed with the BFF's access key (`SDK-HMAC-SHA256`). */
export interface AkSkAuth {
  mode: 'aksk';
  accessKey: string;
  secretKey: string;
  securityToken?: string;
}

/** Requests carrying a project-scoped IAM token (`X-Auth-Token`) obtained with a password. */
export interface IamTokenAuth {
  mode: 'token';
  iamEndpoint: string;
  user: string;
  password: string;
  domain: string;
  refreshBeforeMs: number;
}

export interface UpstreamPolicyConfig {
  attemptTimeoutMs: number;
  deadlineMs: number;
  maxRetries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  retryAfterCapMs: number;
  breakerThreshold: number;
  breakerHalfOpenAfterMs: number;
  maxSockets: number;
}
