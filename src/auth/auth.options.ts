import { createHash } from 'node:crypto';
import { Scope } from './caller';


/** A service's API key, stored only as the SHA-256 (hex) of the key itself. */
export interface ApiKeyEntry {
  name: string;
  sha256: string;
  scopes: string[];
  projects: string[] | '*';
}

export interface JwtOptions {
  /** Remote key set; exactly one of `jwksUrl` and `publicKeyFile` is set. */
  jwksUrl?: string;
  /** Local JWK, JWK Set (JSON) or PEM public key / certificate. */
  publicKeyFile?: string;
  issuer: string;
  audience: string;
  algorithms: string[];
  clockToleranceSec: number;
  /** Claim with the caller's project ids (array) or `"*"` for all projects. */
  projectsClaim: string;
  /** Minimum time between two JWKS fetches (unknown `kid`, failures). Default 30 s. */
  jwksCooldownMs?: number;
  /** Timeout of one JWKS fetch. Default 5 s. */
  jwksTimeoutMs?: number;
}

export interface AuthOptions {
  nodeEnv: string;
  jwt?: JwtOptions;
  apiKeys: ApiKeyEntry[];
  /** Accept `local-development-key`; see `resolveDevelopmentKey`. */
  developmentKey: boolean;
}

export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');

/** The documented key of the zero-configuration development setup (design §4). Never valid in production. */
export const DEVELOPMENT_API_KEY = 'local-development-key';

export const DEFAULT_JWT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];

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
const KNOWN_SCOPES: ReadonlySet<string> = new Set(Object.values(Scope));

/** The development key is on exactly when nothing real is configured outside production. */
export function resolveDevelopmentKey(nodeEnv: string, jwt: JwtOptions | undefined, apiKeys: ApiKeyEntry[]): boolean {
  return nodeEnv !== 'production' && !jwt && apiKeys.length === 0;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * Checks the authentication configuration; throws one Error listing every problem. In production it
 * refuses to start without real authentication or with the development key. Pure: called by the
 * config/boot code and again by `AuthModule.forRoot`.
 */
export function assertAuthConfiguration(options: AuthOptions, nodeEnv: string): void {
  const problems: string[] = [];
  const production = nodeEnv === 'production';
  const { jwt, apiKeys } = options;

  if (jwt) problems.push(...jwtProblems(jwt, production));
  problems.push(...apiKeyProblems(apiKeys));

  const realAuth = !!jwt || apiKeys.length > 0;
  if (production && !realAuth) {
    problems.push('production requires real caller authentication: configure a JWT issuer (JWKS URL or public key file) or API keys');
  }
  if (production && options.developmentKey) {
    problems.push(`the development key "${DEVELOPMENT_API_KEY}" must not be enabled in production`);
  }
  if (production && apiKeys.some((k) => k.sha256.toLowerCase() === sha256Hex(DEVELOPMENT_API_KEY))) {
    problems.push(`an API key is the publicly documented development key "${DEVELOPMENT_API_KEY}"; issue a real key`);
  }
  if (!production && options.developmentKey && realAuth) {
    problems.push('the development key is only for setups without JWT or API-key configuration');
  }

  if (problems.length) {
    throw new Error(`Invalid caller authentication configuration: ${problems.join('; ')}.`);
  }
}

function jwtProblems(jwt: JwtOptions, production: boolean): string[] {
  const problems: string[] = [];
  if (!!jwt.jwksUrl === !!jwt.publicKeyFile) problems.push('JWT needs exactly one of a JWKS URL and a public key file');
  if (jwt.jwksUrl) {
    let url: URL | undefined;
    try {
      url = new URL(jwt.jwksUrl);
    } catch {
      problems.push(`JWKS URL "${jwt.jwksUrl}" is not a URL`);
    }
    if (url && url.protocol !== 'https:' && url.protocol !== 'http:') problems.push('the JWKS URL must be http(s)');
    // Over plain HTTP anyone on the path could publish their own signing keys.
    else if (url && production && url.protocol !== 'https:') problems.push('the JWKS URL must use https in production');
  }
  if (!jwt.issuer) problems.push('JWT issuer is required');
  if (!jwt.audience) problems.push('JWT audience is required');
  if (!jwt.projectsClaim) problems.push('JWT projects claim name is required');
  if (!jwt.algorithms.length) problems.push('at least one JWT algorithm is required');
  const bad = jwt.algorithms.filter((a) => !SUPPORTED_JWT_ALGORITHMS.has(a));
  if (bad.length) problems.push(`JWT algorithms not allowed: ${bad.join(', ')} (asymmetric algorithms only, never "none" or HS*)`);
  if (!(jwt.clockToleranceSec >= 0 && jwt.clockToleranceSec <= MAX_CLOCK_TOLERANCE_SEC)) {
    problems.push(`JWT clock tolerance must be between 0 and ${MAX_CLOCK_TOLERANCE_SEC} seconds`);
  }
  return problems;
}

function apiKeyProblems(apiKeys: ApiKeyEntry[]): string[] {
  const problems: string[] = [];
  const seenHashes = new Set<string>();
  const seenNames = new Set<string>();
  for (const [i, key] of apiKeys.entries()) {
    const label = key.name ? `API key "${key.name}"` : `API key #${i + 1}`;
    if (!key.name) problems.push(`${label} needs a name`);
    else if (seenNames.has(key.name)) problems.push(`${label} is configured twice`);
    seenNames.add(key.name);
    if (!/^[0-9a-f]{64}$/i.test(key.sha256)) problems.push(`${label} needs "sha256": the hex SHA-256 of the key (64 characters)`);
    else if (seenHashes.has(key.sha256.toLowerCase())) problems.push(`${label} has the same hash as another key`);
    seenHashes.add(key.sha256.toLowerCase());
    const unknown = key.scopes.filter((s) => !KNOWN_SCOPES.has(s));
    if (unknown.length) problems.push(`${label} has unknown scopes: ${unknown.join(', ')}`);
    if (key.projects !== '*' && !Array.isArray(key.projects)) problems.push(`${label} needs "projects": a list of ids or "*"`);
  }
  return problems;
}
