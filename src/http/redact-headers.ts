/**
 * Header names whose values are credentials or derived from them: Authorization (also carrying the AK/SK
 * signature), Proxy-Authorization, X-Auth-Token, X-Subject-Token (IAM's answer), X-Security-Token, X-Api-Key,
 * Cookie, Set-Cookie. A pattern rather than a list, so a new credential header is hidden by default.
 */
const SECRET_HEADER = /authorization|token|cookie|api-?key|secret|signature|password|credential/i;

/** A copy of `headers` fit for a log line. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const safe: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) safe[name] = SECRET_HEADER.test(name) ? '[redacted]' : value;
  return safe;
}
