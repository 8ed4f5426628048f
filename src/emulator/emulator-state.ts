import type { IncomingHttpHeaders } from 'node:http';
import { AkSkLockout } from './aksk-lockout';
import { FaultKind, FaultQueue } from './faults';
import { IamTokenStore, IamUser, ProjectRef } from './iam-tokens';
import { CallbackChange, CallbackItem, EVENT_TYPES, EventType, PROJECT_ID, topicUrn } from './smn-callbacks';

/**
 * Everything the emulator remembers, in memory: projects with their topics and callback
 * configuration, the request log, the fault queue, the AK lockouts and the issued IAM tokens.
 *
 * Projects: any 32-hex project id exists. One that is not seeded lives in the emulator's default
 * region with no topics until an admin call adds one, so GET answers `callback: []` and PUT can only
 * delete. This mirrors a fresh real project and lets clients use any project id without set-up.
 *
 * IAM knows a project by its name, which is its region id, so an account has one project of each
 * name. IAM (the project list and token scopes by name) therefore sees the first project the
 * emulator holds in each region: the seeded ones and those an admin call created, not the implicit
 * ones above.
 */

export interface ProjectSeed {
  projectId: string;
  region: string;
  topics: string[];
}

export interface TopicView {
  project_id: string;
  region: string;
  name: string;
  urn: string;
}

export interface ProjectView {
  project_id: string;
  region: string;
  topics: TopicView[];
  callback: CallbackItem[];
}

export type AddTopicResult = { ok: true; created: boolean; topic: TopicView } | { ok: false; message: string };

/** One /v2 or /v3 request as received, completed when (and if) it is answered. */
export interface RequestLogEntry {
  seq: number;
  /** The emulator's id, as in the response body and `X-Request-Id`. */
  request_id: string;
  /** The caller's `X-Request-Id` (the BFF forwards its correlation id), if any. */
  caller_request_id: string | null;
  time: string;
  method: string;
  url: string;
  path: string;
  query: Record<string, unknown>;
  /** Every header as received, so tests can prove what a client did or did not send. */
  headers: IncomingHttpHeaders;
  /** The body as UTF-8 text, cut at 64 KiB; null when there was none. */
  body: string | null;
  auth: { mode: 'aksk'; access_key: string } | { mode: 'token'; user: string } | null;
  /** Null while in flight, and for ever when a fault reset or hung the connection. */
  status: number | null;
  error_code: string | null;
  duration_ms: number | null;
  fault: { id: string; kind: FaultKind } | null;
}

interface Project {
  region: string;
  topics: Set<string>;
  callbacks: Map<EventType, string>;
}

export interface EmulatorStateOptions {
  seed: readonly ProjectSeed[];
  defaultRegion: string;
  iamUsers: readonly IamUser[];
  tokenLifetimeSeconds: number;
  requestLogCapacity?: number;
}

export class EmulatorState {
  readonly requestLog: RequestLog;
  readonly faults = new FaultQueue();
  readonly lockout = new AkSkLockout();
  /** Kept across `reset()`, like a real IAM: a BFF's cached token stays valid between tests. */
  readonly tokens: IamTokenStore;
  readonly defaultRegion: string;
  private readonly seed: readonly ProjectSeed[];
  private projects = new Map<string, Project>();

  constructor(options: EmulatorStateOptions) {
    this.seed = options.seed.map((p) => ({ ...p, topics: [...p.topics] }));
    this.defaultRegion = options.defaultRegion;
    this.requestLog = new RequestLog(options.requestLogCapacity ?? 10_000);
    this.tokens = new IamTokenStore(options.iamUsers, options.tokenLifetimeSeconds, (scope) => this.resolveProject(scope));
    this.reset();
  }

  /** Back to the seed: seeded topics only, no callbacks, empty request log, no faults, no AK lockouts. */
  reset(): void {
    this.projects = new Map(this.seed.map((p) => [p.projectId, { region: p.region, topics: new Set(p.topics), callbacks: new Map() }]));
    this.requestLog.clear();
    this.faults.clear();
    this.lockout.clear();
  }

  regionOf(projectId: string): string {
    return this.projects.get(projectId)?.region ?? this.defaultRegion;
  }

  hasTopic(projectId: string, name: string): boolean {
    return this.projects.get(projectId)?.topics.has(name) ?? false;
  }

  addTopic(projectId: string, name: string, region?: string): AddTopicResult {
    let project = this.projects.get(projectId);
    if (project && region !== undefined && region !== project.region) {
      return { ok: false, message: `project ${projectId} is in region ${project.region}, not ${region}` };
    }
    if (!project) {
      project = { region: region ?? this.defaultRegion, topics: new Set(), callbacks: new Map() };
      this.projects.set(projectId, project);
    }
    const created = !project.topics.has(name);
    project.topics.add(name);
    return { ok: true, created, topic: topicView(projectId, project.region, name) };
  }

  listTopics(projectId?: string): TopicView[] {
    const topics: TopicView[] = [];
    for (const [id, project] of this.projects) {
      if (projectId !== undefined && id !== projectId) continue;
      for (const name of project.topics) topics.push(topicView(id, project.region, name));
    }
    return topics;
  }

  /** The configured callbacks, in the documented event-type order; unconfigured types are left out. */
  callbacks(projectId: string, eventType?: EventType): CallbackItem[] {
    const configured = this.projects.get(projectId)?.callbacks;
    if (!configured) return [];
    const items: CallbackItem[] = [];
    for (const type of EVENT_TYPES) {
      const urn = configured.get(type);
      if (urn !== undefined && (eventType === undefined || eventType === type)) {
        items.push({ event_type: type, topic_urn: urn });
      }
    }
    return items;
  }

  /** Applies validated changes: upsert per event type, `""` deletes. */
  applyCallbacks(projectId: string, changes: readonly CallbackChange[]): void {
    let project = this.projects.get(projectId);
    if (!project) {
      // Only deletions can reach an unknown project (a URN needs a registered topic): nothing to do.
      if (changes.every((c) => c.topicUrn === '')) return;
      project = { region: this.defaultRegion, topics: new Set(), callbacks: new Map() };
      this.projects.set(projectId, project);
    }
    for (const { eventType, topicUrn: urn } of changes) {
      if (urn === '') project.callbacks.delete(eventType);
      else project.callbacks.set(eventType, urn);
    }
  }

  /** Projects the emulator holds state for: the seeded ones and any an admin call created. */
  projectIds(): string[] {
    return [...this.projects.keys()];
  }

  snapshot(projectId: string): ProjectView {
    return {
      project_id: projectId,
      region: this.regionOf(projectId),
      topics: this.listTopics(projectId),
      callback: this.callbacks(projectId),
    };
  }

  /** The projects IAM lists: one per region (see above), named after it. */
  iamProjects(): ProjectRef[] {
    const byName = new Map<string, ProjectRef>();
    for (const [id, { region }] of this.projects) if (!byName.has(region)) byName.set(region, { id, name: region });
    return [...byName.values()];
  }

  /** The project a token scope names: by id, any 32-hex id (see above); by name, the one IAM lists. */
  private resolveProject(scope: { id: string } | { name: string }): ProjectRef | undefined {
    if ('id' in scope) return PROJECT_ID.test(scope.id) ? { id: scope.id, name: this.regionOf(scope.id) } : undefined;
    return this.iamProjects().find((p) => p.name === scope.name);
  }
}

/** A ring buffer: the last `capacity` entries, O(1) per request however long a benchmark runs. */
export class RequestLog {
  private entries: Array<RequestLogEntry | undefined>;
  private next = 0;
  private seq = 0;

  constructor(readonly capacity: number) {
    this.entries = new Array<RequestLogEntry | undefined>(capacity);
  }

  /** Stores the entry (numbering it) and returns it, so the caller can complete it later. */
  add(entry: RequestLogEntry): RequestLogEntry {
    entry.seq = ++this.seq;
    this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    return entry;
  }

  /** Oldest first; `limit` keeps only the newest ones. */
  list(limit?: number): RequestLogEntry[] {
    const ordered = [...this.entries.slice(this.next), ...this.entries.slice(0, this.next)].filter((e): e is RequestLogEntry => e !== undefined);
    return limit === undefined ? ordered : ordered.slice(Math.max(0, ordered.length - limit));
  }

  clear(): void {
    this.entries = new Array<RequestLogEntry | undefined>(this.capacity);
    this.next = 0;
  }
}

function topicView(projectId: string, region: string, name: string): TopicView {
  return { project_id: projectId, region, name, urn: topicUrn(region, projectId, name) };
}
