import { createPublicKey, KeyObject } from 'node:crypto';
import { chainHash, GENESIS_HASH, verifyHashSignature } from './audit-chain';
import { resolveAuditPublicKey } from './audit-signing-key';
import { AuditStore } from './audit.store';
import { openAuditStore } from './open-audit-store';

export type AuditChainVerification =
  | { ok: true; count: number }
  | { ok: false; count: number; firstBroken: { seq: number; id: string; reason: string } };

/**
 * Walks the chain in order and names the first record that does not hold: a broken link to its
 * predecessor (a record removed or altered before it), a hash that does not match its fields
 * (altered), or a signature that does not verify (hashes recomputed without the private key).
 * `count` is the number of records that checked out before the break.
 */
export async function verifyAuditChain(store: AuditStore, publicKeyPem: string | KeyObject): Promise<AuditChainVerification> {
  const publicKey = typeof publicKeyPem === 'string' ? createPublicKey(publicKeyPem) : publicKeyPem;
  // Read first: records appended while we walk are beyond it and not judged.
  const head = await store.readHead();
  let prev = { seq: 0, hash: GENESIS_HASH };
  let count = 0;
  let lastId: string | undefined;
  const broken = (seq: number, id: string, reason: string): AuditChainVerification => ({ ok: false, count, firstBroken: { seq, id, reason } });

  for await (const record of store.readChain()) {
    if (record.seq > head.seq) break;
    if (record.prev_hash !== prev.hash) {
      const after = prev.seq === 0 ? 'the start of the chain' : `record seq=${prev.seq}`;
      return broken(record.seq, record.id, `prev_hash does not match the hash of ${after} (a record was removed or altered)`);
    }
    if (chainHash(record.prev_hash, record) !== record.hash) {
      return broken(record.seq, record.id, 'hash does not match the record (the record was altered)');
    }
    if (!verifyHashSignature(publicKey, record.hash, record.signature)) {
      return broken(record.seq, record.id, 'signature does not verify (the hash was recomputed or signed with another key)');
    }
    prev = { seq: record.seq, hash: record.hash };
    lastId = record.id;
    count++;
  }

  // The head remembers the last append: a chain cut short at the end still disagrees with it.
  if (head.hash !== prev.hash) {
    return prev.seq === head.seq
      ? broken(prev.seq, lastId ?? '(none)', 'the chain head does not match this last record (the head was altered)')
      : broken(head.seq, '(missing)', `the chain ends at seq=${prev.seq} but its head names seq=${head.seq} (records were removed from the end)`);
  }
  return { ok: true, count };
}

export interface AuditVerifyOptions {
  databaseUrl?: string;
  dataDir: string;
  publicKeyPem?: string;
  /** Used only to derive the public key when no public key is given. */
  privateKeyPem?: string;
}

/**
 * `npm run audit:verify`: prints one line and returns the exit code: 0 intact, 1 broken,
 * 2 could not verify (no key, store unreachable or locked by a running PGlite instance).
 */
export async function runAuditVerify(
  options: AuditVerifyOptions,
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  /** Sees why verification could not run (e.g. the embedded store is held by a running server). */
  onUnverifiable?: (error: unknown) => void,
): Promise<number> {
  let store: AuditStore | undefined;
  try {
    const publicKey = resolveAuditPublicKey(options);
    store = await openAuditStore(options);
    const result = await verifyAuditChain(store, publicKey);
    if (result.ok) {
      print(`audit chain intact: ${result.count} records`);
      return 0;
    }
    const { seq, id, reason } = result.firstBroken;
    print(`audit chain BROKEN at record seq=${seq} id=${id}: ${reason}`);
    return 1;
  } catch (error) {
    onUnverifiable?.(error);
    if (!onUnverifiable) print(`audit chain NOT VERIFIED: ${(error as Error).message}`);
    return 2;
  } finally {
    await store?.close().catch(() => undefined);
  }
}
