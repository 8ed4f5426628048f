/**
 * `npm run audit:verify [-- --public-key FILE]`: recomputes the audit hash chain and checks every record's
 * Ed25519 signature, on the store the service is configured with (PGlite or DATABASE_URL).
 * Exit 0: intact; 1: broken (the first broken record is named); 2: could not verify.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../config/load-config';
import { runAuditVerify } from './verify-audit-chain';

async function main(): Promise<number> {
  const { audit } = loadConfig();
  const keyArg = process.argv.indexOf('--public-key');
  const publicKeyPem = keyArg > 0 ? readFileSync(process.argv[keyArg + 1], 'utf8') : undefined;
  return runAuditVerify({
    databaseUrl: audit.databaseUrl,
    dataDir: audit.dataDir,
    publicKeyPem,
    privateKeyPem: audit.signingKeyPem,
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  },
);
