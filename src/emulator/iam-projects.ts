import type { ProjectRef } from './iam-tokens';

/**
 * IAM's project list, `GET /v3/projects[?name=]`: the call with which an AK/SK client that was
 * given no project id finds it, by asking for the project named after its region and taking
 * `projects[0].id` (the official Node SDK takes it only when exactly one project matches). The body
 * is Keystone's, with the fields the official SDK's model declares. Only the `name` filter is
 * emulated; a name no project has lists nothing.
 */

export interface IamProjectView {
  id: string;
  name: string;
  domain_id: string;
  /** A region's project hangs directly under its account. */
  parent_id: string;
  is_domain: false;
  enabled: true;
  description: string;
  links: { self: string };
}

export interface ProjectListBody {
  projects: IamProjectView[];
  links: { self: string; previous: null; next: null };
}

/**
 * @param baseUrl where the caller reached IAM, e.g. `http://127.0.0.1:9800`, for the self links
 * @param selfPath the request's path and query, as received
 */
export function projectListBody(
  projects: readonly ProjectRef[],
  query: { name?: unknown },
  domainId: string,
  baseUrl: string,
  selfPath: string,
): ProjectListBody {
  return {
    // A repeated `name` (an array here) equals no project's name.
    projects: projects
      .filter((p) => query.name === undefined || p.name === query.name)
      .map((p) => ({
        id: p.id,
        name: p.name,
        domain_id: domainId,
        parent_id: domainId,
        is_domain: false,
        enabled: true,
        description: '',
        links: { self: `${baseUrl}/v3/projects/${p.id}` },
      })),
    links: { self: `${baseUrl}${selfPath}`, previous: null, next: null },
  };
}
