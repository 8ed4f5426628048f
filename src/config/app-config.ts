import type { z } from 'zod';
import type { configSchema } from './config.schema';

/** The validated configuration, namespaced; its shape is the schema's output (config.schema.ts). */
export type Config = z.output<typeof configSchema>;

/**
 * The DI token of the one validated configuration, built once at boot by `loadConfig`. Declaration merging
 * gives the token class the schema's shape without restating a field, and keeps constructor injection by type.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface AppConfig extends Config {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export abstract class AppConfig {}

export type HttpConfig = Config['http'];
/** How long the server waits for a caller's headers, whole request and next request on a kept-alive connection. */
export type ServerConfig = Config['server'];
export type LogConfig = Config['log'];
export type SmnConfig = Config['smn'];
/** Requests signed with the BFF's access key (`SDK-HMAC-SHA256`). */
export type AkSkAuth = Extract<SmnConfig['auth'], { mode: 'aksk' }>;
/** Requests carrying a project-scoped IAM token (`X-Auth-Token`) obtained with a password. */
export type IamTokenAuth = Extract<SmnConfig['auth'], { mode: 'token' }>;
export type UpstreamPolicyConfig = SmnConfig['upstream'];
export type AuthConfig = Config['auth'];
export type JwtConfig = NonNullable<AuthConfig['jwt']>;
export type ApiKeyEntry = AuthConfig['apiKeys'][number];
/** A BFF-issued access key (caller AK/SK); holds the secret, so it never leaves authentication. */
export type AccessKeyEntry = AuthConfig['accessKeys'][number];
export type RateLimitConfig = Config['rateLimit'];
/** One budget: at most `limit` requests per `ttlMs` window. */
export type RateLimitBudget = RateLimitConfig['caller'];
export type AuditConfig = Config['audit'];
/** Where spans go (OTLP/HTTP) and the service's name; `tracesUrl` unset: tracing is off. */
export type TracingConfig = Config['tracing'];
