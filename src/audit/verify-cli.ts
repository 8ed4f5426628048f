/**
 * `npm run audit:verify [-- --checkpoint FILE] [-- --public-key FILE] [-- --api-key KEY]`: recomputes the
 * audit hash chain and checks every record's Ed25519 signature, on the store the service is configured with
 * (PGlite under DATA_DIR, or DATABASE_URL); with `--checkpoint`, also that the chain still contains the saved
 * checkpoint's record (nothing cut off the end). Needs only the store and the key (AUDIT_PUBLIC_KEY[_FILE],
 * or AUDIT_SIGNING_KEY[_FILE] to derive it). The embedded store is single-process: while the server holds it,
 * the server is asked to verify instead (`GET /audit/verification` on HOST:PORT; the development key, or
 * `--api-key`). Exit 0: intact; 1: broken (the first broken record is named) or the checkpoint forged;
 * 2: could not verify.
 */
import { readFileSync } from 'node:fs';
import { DEVELOPMENT_API_KEY } from '../config/config.schema';
import { loadVerifyConfig, VerifyConfig } from '../config/verify-config';
import { DataDirLockedError } from './data-dir-lock';
import { NO_CHECKPOINT_CAVEAT, runAuditVerify } from './verify-audit-chain';

const print = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const config = loadVerifyConfig();
  const publicKeyPem = argument('--public-key') ? readFileSync(argument('--public-key')!, 'utf8') : config.publicKeyPem;
  const checkpointFile = argument('--checkpoint');
  let lockedBy: DataDirLockedError | undefined;
  const code = await runAuditVerify(
    { databaseUrl: config.databaseUrl, dataDir: config.dataDir, publicKeyPem, privateKeyPem: config.signingKeyPem, checkpointFile },
    print,
    (error) => {
      if (error instanceof DataDirLockedError) lockedBy = error;
      else print(`audit chain NOT VERIFIED: ${(error as Error).message}`);
    },
  );
  if (!lockedBy) return code;
  if (publicKeyPem) {
    // The server can only check with its own key; an operator's independent key needs the records here.
    print(
      'audit chain NOT VERIFIED: the embedded store is held by the running server, which verifies with its own key only; stop it to verify with an independent public key (or use PostgreSQL)',
    );
    return 2;
  }
  if (checkpointFile) {
    // The server's verification answer does not say which record sits at the checkpoint's seq.
    print(
      'audit chain NOT VERIFIED: the embedded store is held by the running server; a checkpoint check needs the store itself: stop the server (or use PostgreSQL)',
    );
    return 2;
  }
  return verifyThroughServer(config);
}

/** The running server verifies its own store. */
async function verifyThroughServer(config: VerifyConfig): Promise<number> {
  const apiKey = argument('--api-key') ?? (config.developmentKey ? DEVELOPMENT_API_KEY : undefined);
  const url = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}/audit/verification`;
  if (!apiKey) {
    print(`audit chain NOT VERIFIED: the embedded store is held by the running server; pass --api-key KEY (audit:read on every project) to ask it at ${url}`);
    return 2;
  }
  try {
    const response = await fetch(url, { headers: { 'x-api-key': apiKey } });
    const body = (await response.json()) as {
      intact?: boolean;
      records?: number;
      first_broken?: { seq: number; id: string; reason: string };
      message?: string;
    };
    if (!response.ok) throw new Error(`${url} answered ${response.status}: ${body.message ?? ''}`);
    if (body.intact) {
      print(`audit chain intact: ${body.records} records (verified by the running server at ${url}; ${NO_CHECKPOINT_CAVEAT})`);
      return 0;
    }
    const broken = body.first_broken!;
    print(`audit chain BROKEN at record seq=${broken.seq} id=${broken.id}: ${broken.reason} (verified by the running server)`);
    return 1;
  } catch (error) {
    print(`audit chain NOT VERIFIED: the embedded store is held by the running server, which could not be asked: ${(error as Error).message}`);
    return 2;
  }
}

/** A flag's value; a flag given without one is refused rather than silently ignored. */
function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  if (at < 0) return undefined;
  const value = process.argv[at + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    print(`audit chain NOT VERIFIED: ${(error as Error).message}`);
    process.exit(2);
  },
);
