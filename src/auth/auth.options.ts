import { createHash } from 'node:crypto';
import type { AccessKeyEntry, ApiKeyEntry, AuthConfig, JwtConfig } from '../config/app-config';

export type { AccessKeyEntry, ApiKeyEntry } from '../config/app-config';
// The configuration owns the development key and the rule that turns it on; the module only applies them.
export { DEVELOPMENT_API_KEY, resolveDevelopmentKey } from '../config/config.schema';

/** The configured JWT settings; built by hand (tests), the key source is either one and the JWKS timings may be left out. */
export type JwtOptions = Omit<JwtConfig, 'jwksUrl' | 'publicKeyFile' | 'jwksCooldownMs' | 'jwksTimeoutMs'> & {
  jwksUrl?: string;
  publicKeyFile?: string;
  jwksCooldownMs?: number;
  /** Timeout of one JWKS fetch (`AUTH_JWKS_TIMEOUT_MS`). Default 5 s. */
  jwksTimeoutMs?: number;
};

/** Caller authentication as configured (validated by the configuration schema, not again here). */
export type AuthOptions = Omit<AuthConfig, 'jwt' | 'apiKeys' | 'accessKeys'> & { jwt?: JwtOptions; apiKeys: ApiKeyEntry[]; accessKeys?: AccessKeyEntry[] };

export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');

/** The clock of caller authentication (epoch ms; the `X-Sdk-Date` window): `Date.now`, replaced in tests. */
export const AUTH_CLOCK = Symbol('AUTH_CLOCK');
export type AuthClock = () => number;

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
