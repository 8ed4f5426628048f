/**
 * The typed client of sms-callback-bff: openapi-fetch over the types generated from the committed spec
 * (`schema.ts`, written by `npm run openapi` in the service's repository; never edit it by hand).
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema';

export type { components, operations, paths } from './schema';

/** One credential per request: a service API key, or a bearer JWT of the configured issuer. */
export type Credentials = { apiKey: string; token?: never } | { token: string; apiKey?: never };

export type SmsCallbackClient = Client<paths, 'application/json'>;

/** One callback as GET lists it and PUT takes it. */
export type SmsCallback = components['schemas']['SmsCallbackDto'];
/** The body of every error answer. */
export type ErrorEnvelope = components['schemas']['ErrorEnvelopeDto'];

/**
 * A client of the service at `baseUrl` (e.g. `http://127.0.0.1:3000`), sending `credentials` with every
 * request. Answers are `{ data, error, response }`: `data` on 2xx, `error` (the envelope) otherwise, and the
 * `response` for headers such as `ETag`, `X-Request-Id` and `Retry-After`.
 */
export function createSmsCallbackClient(
  baseUrl: string,
  credentials: Credentials,
  options: Omit<ClientOptions, 'baseUrl' | 'headers'> & { headers?: Record<string, string> } = {},
): SmsCallbackClient {
  const auth: Record<string, string> =
    credentials.apiKey !== undefined ? { 'X-Api-Key': credentials.apiKey } : { Authorization: `Bearer ${credentials.token}` };
  return createClient<paths, 'application/json'>({ ...options, baseUrl, headers: { ...options.headers, ...auth } });
}
