import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Scope } from '../src/config/scopes';

/**
 * `npm run deploy:init [-- --dir DIR]`: the secret files `docker-compose.yml` mounts, created once with
 * owner-only permissions (0600). Existing files are kept, so running it again never replaces a key that
 * signed records or that callers hold. Prints what it made, and the new API key once (only its hash is stored).
 */

interface Made {
  file: string;
  made: boolean;
  note: string;
}

/** The files, by the name compose mounts them under (deploy/…). */
export const DEPLOY_SECRET_FILES = ['audit-signing-key.pem', 'api-keys.json'] as const;

export function deployInit(dir: string): { results: Made[]; apiKey?: string } {
  mkdirSync(dir, { recursive: true });
  const results: Made[] = [];
  let apiKey: string | undefined;
  const create = (name: string, content: () => string, note: string) => {
    const file = join(dir, name);
    if (existsSync(file)) return results.push({ file, made: false, note: 'exists, kept' });
    // 'wx': never over a file that appeared meanwhile; the mode applies at creation.
    writeFileSync(file, content(), { mode: 0o600, flag: 'wx' });
    results.push({ file, made: true, note });
  };
  create(
    'audit-signing-key.pem',
    () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    'Ed25519 key that signs every audit record (AUDIT_SIGNING_KEY_FILE)',
  );
  create(
    'api-keys.json',
    () => {
      apiKey = `bff_${randomBytes(24).toString('base64url')}`;
      const entry = { name: 'operator', sha256: createHash('sha256').update(apiKey).digest('hex'), scopes: Object.values(Scope), projects: '*' };
      return `${JSON.stringify([entry], null, 2)}\n`;
    },
    'one API key "operator" with every scope on every project (AUTH_API_KEYS_FILE)',
  );
  return { results, apiKey };
}

if (require.main === module) {
  const at = process.argv.indexOf('--dir');
  const dir = at > 0 && process.argv[at + 1] ? process.argv[at + 1] : 'deploy';
  const { results, apiKey } = deployInit(dir);
  for (const { file, made, note } of results) process.stdout.write(`${made ? 'created' : 'kept   '} ${relative(process.cwd(), file) || file} (${note})\n`);
  if (apiKey) process.stdout.write(`\nThe operator's API key, shown only now (send it as X-Api-Key):\n  ${apiKey}\n`);
}
