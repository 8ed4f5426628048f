import { DEVELOPMENT_API_KEY, sha256Hex, type ApiKeyEntry } from './auth.options';
import { Scope, type Caller } from './caller';

/**
 * API keys, looked up by the SHA-256 of the presented key. Only hashes are held, and a Map lookup on a
 * digest leaks nothing useful about the key through timing, so no plain-text comparison happens anywhere.
 */
export class ApiKeyAuthenticator {
  private readonly byHash = new Map<string, Caller>();

  constructor(entries: ApiKeyEntry[], developmentKey: boolean) {
    for (const entry of entries) {
      this.byHash.set(entry.sha256.toLowerCase(), {
        kind: 'api-key',
        subject: entry.name,
        scopes: new Set(entry.scopes),
        projects: entry.projects === '*' ? '*' : new Set(entry.projects),
      });
    }
    if (developmentKey) {
      this.byHash.set(sha256Hex(DEVELOPMENT_API_KEY), {
        kind: 'development',
        subject: 'development',
        scopes: new Set(Object.values(Scope)),
        projects: '*',
      });
    }
  }

  /** The caller behind `key`, or undefined for an unknown key. */
  authenticate(key: string): Caller | undefined {
    return this.byHash.get(sha256Hex(key));
  }
}
