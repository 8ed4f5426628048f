/** The authenticated party behind a request, as the guard resolved it. Never holds a secret. */
export interface Caller {
  kind: 'jwt' | 'api-key' | 'access-key' | 'development';
  /** JWT `sub`, or the API key's or access key's configured name. */
  subject: string;
  /** JWT `client_id`/`azp` when present. */
  clientId?: string;
  scopes: ReadonlySet<string>;
  /** Project ids the caller may access, or '*' for all. */
  projects: ReadonlySet<string> | '*';
}

export { Scope } from '../config/scopes';

export function canAccessProject(caller: Caller, projectId: string): boolean {
  return caller.projects === '*' || caller.projects.has(projectId);
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication guard. */
    caller?: Caller;
  }
}
