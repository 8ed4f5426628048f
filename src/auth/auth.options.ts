import { createHash } from 'node:crypto';
import type { ApiKeyEntry, AuthConfig, JwtConfig } from '../config/app-config';

export type { ApiKeyEntry } from '../config/app-config';
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
export type AuthOptions = Omit<AuthConfig, 'jwt' | 'apiKeys'> & { jwt?: JwtOptions; apiKeys: ApiKeyEntry[] };

export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
