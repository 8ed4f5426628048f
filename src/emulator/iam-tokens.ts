import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * The slice of IAM that token mode needs: `POST /v3/auth/tokens`, password flavour, scoped to a
 * project or to the user's own domain (account). A domain-scoped token is IAM's global token: it
 * names no project, so it serves global services (IAM itself) but no project's API; when a request
 * scopes both, the project wins, as on IAM. Tokens are opaque random strings remembered with their
 * expiry and scope; nothing about them can be forged or decoded by a client.
 */

export interface IamUser {
  name: string;
  password: string;
  /** The account (domain) name. */
  domain: string;
}

/** What a token is valid for: one project, or the whole domain (account) of its user. */
export interface TokenScope {
  kind: 'project' | 'domain';
  id: string;
  name: string;
}

export interface IssuedToken {
  token: string;
  user: string;
  /** The user's domain (account) name. */
  domain: string;
  scope: TokenScope;
  issuedAtMs: number;
  expiresAtMs: number;
}

export interface ProjectRef {
  id: string;
  name: string;
}

export type IssueResult = { ok: true; token: IssuedToken; body: TokenResponseBody } | { ok: false; status: 400 | 401; message: string };

export type TokenCheck = { ok: true; token: IssuedToken } | { ok: false; reason: 'unknown' | 'expired' };

export interface TokenResponseBody {
  token: {
    methods: string[];
    issued_at: string;
    expires_at: string;
    user: { id: string; name: string; domain: { id: string; name: string } };
    /** Present on a project-scoped token. */
    project?: { id: string; name: string; domain: { id: string; name: string } };
    /** Present on a domain-scoped token. */
    domain?: { id: string; name: string };
    roles: Array<{ id: string; name: string }>;
    /** Left out when the request asked for `nocatalog`. */
    catalog?: unknown[];
  };
}

export interface IssueOptions {
  /** False when the request carried a non-empty `nocatalog` query parameter. */
  catalog: boolean;
}

/** Keystone's error body, which Huawei IAM also uses for token requests. */
export interface KeystoneErrorBody {
  error: { code: number; message: string; title: string };
}

const byIdOrName = z.union([z.object({ id: z.string() }), z.object({ name: z.string() })]);

const passwordAuthSchema = z.object({
  auth: z.object({
    identity: z.object({
      methods: z.array(z.string()).refine((m) => m.includes('password'), 'only the password method is emulated'),
      password: z.object({
        user: z.object({
          name: z.string(),
          password: z.string(),
          domain: z.object({ name: z.string() }),
        }),
      }),
    }),
    scope: z
      .object({ project: byIdOrName.optional(), domain: byIdOrName.optional() })
      .refine((scope) => scope.project !== undefined || scope.domain !== undefined, 'the scope names no project or domain'),
  }),
});

/** Enough for any real use; keeps a benchmark that only issues tokens from growing memory. */
const MAX_TOKENS = 100_000;

export class IamTokenStore {
  private readonly tokens = new Map<string, IssuedToken>();

  constructor(
    private readonly users: readonly IamUser[],
    private readonly lifetimeSeconds: number,
    /** The project a scope names, or undefined when it names none the emulator knows. */
    private readonly resolveProject: (scope: { id: string } | { name: string }) => ProjectRef | undefined,
  ) {}

  issue(requestBody: unknown, nowMs: number, options: IssueOptions = { catalog: true }): IssueResult {
    const parsed = passwordAuthSchema.safeParse(requestBody);
    if (!parsed.success) {
      return { ok: false, status: 400, message: `The request body is invalid: ${parsed.error.issues[0].message}.` };
    }
    const { identity, scope } = parsed.data.auth;
    const claimed = identity.password.user;
    const user = this.users.find((u) => u.name === claimed.name && u.domain === claimed.domain.name);
    if (!user || !sameSecret(user.password, claimed.password)) {
      return { ok: false, status: 401, message: 'The username or password is wrong.' };
    }
    let tokenScope: TokenScope;
    if (scope.project !== undefined) {
      const project = this.resolveProject(scope.project);
      if (!project) return { ok: false, status: 401, message: 'The project does not exist or is not accessible.' };
      tokenScope = { kind: 'project', ...project };
    } else {
      // A user can scope a token to the domain it belongs to, and to no other.
      const own = { id: domainId(user.domain), name: user.domain };
      const named = scope.domain!;
      if ('id' in named ? named.id !== own.id : named.name !== own.name) {
        return { ok: false, status: 401, message: 'The domain does not exist or is not accessible.' };
      }
      tokenScope = { kind: 'domain', ...own };
    }

    const issued: IssuedToken = {
      token: `MIIemu${randomBytes(48).toString('base64url')}`,
      user: user.name,
      domain: user.domain,
      scope: tokenScope,
      issuedAtMs: nowMs,
      expiresAtMs: nowMs + this.lifetimeSeconds * 1000,
    };
    this.remember(issued, nowMs);
    return { ok: true, token: issued, body: responseBody(issued, options) };
  }

  check(token: string, nowMs: number): TokenCheck {
    const issued = this.tokens.get(token);
    if (!issued) return { ok: false, reason: 'unknown' };
    if (nowMs >= issued.expiresAtMs) return { ok: false, reason: 'expired' };
    return { ok: true, token: issued };
  }

  /** Invalidates every token, as a password change does on the real IAM. */
  revokeAll(): void {
    this.tokens.clear();
  }

  private remember(issued: IssuedToken, nowMs: number): void {
    if (this.tokens.size >= MAX_TOKENS) {
      for (const [token, t] of this.tokens) if (nowMs >= t.expiresAtMs) this.tokens.delete(token);
      // Still full of live tokens: forget the oldest (a Map iterates in insertion order).
      if (this.tokens.size >= MAX_TOKENS) this.tokens.delete(this.tokens.keys().next().value!);
    }
    this.tokens.set(issued.token, issued);
  }
}

export function keystoneError(status: 400 | 401, message: string): KeystoneErrorBody {
  return { error: { code: status, message, title: status === 401 ? 'Unauthorized' : 'Bad Request' } };
}

/** IAM's timestamp format: microseconds and `Z`, e.g. `2015-11-09T01:42:57.527363Z`. */
export function iamTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

/** The id of a domain (account), derived from its name like every id the emulator makes up. */
export function domainId(name: string): string {
  return stableId(`domain:${name}`);
}

function responseBody(t: IssuedToken, options: IssueOptions): TokenResponseBody {
  const domain = { id: domainId(t.domain), name: t.domain };
  const { kind, ...scoped } = t.scope;
  return {
    token: {
      methods: ['password'],
      issued_at: iamTimestamp(t.issuedAtMs),
      expires_at: iamTimestamp(t.expiresAtMs),
      user: { id: stableId(`user:${t.domain}:${t.user}`), name: t.user, domain },
      ...(kind === 'project' ? { project: { ...scoped, domain } } : { domain: scoped }),
      roles: [{ id: stableId('role:te_admin'), name: 'te_admin' }],
      ...(options.catalog ? { catalog: [] } : {}),
    },
  };
}

/** A 32-hex id derived from a name, so the same user keeps the same id across restarts. */
function stableId(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 32);
}

function sameSecret(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}
