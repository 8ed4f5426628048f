import { createPublicKey, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chainHash, GENESIS_HASH, verifyHashSignature } from './audit-chain';
import { AuditCheckpoint, parseCheckpoint, verifyCheckpointSignature } from './audit-checkpoint';
import { resolveAuditPublicKey } from './audit-signing-key';
import { AuditStore } from './audit.store';
import { openAuditStore } from './open-audit-store';

export type AuditChainVerification = { ok: true; count: number } | { ok: false; count: number; firstBroken: { seq: number; id: string; reason: string } };

/**
 * Walks the chain in order and names the first record that does not hold: a broken link to its
 * predecessor (a record removed or altered before it), a hash that does not match its fields
 * (altered), or a signature that does not verify (hashes recomputed without the private key).
 * `count` is the number of records that checked out before the break.
 */
export async function verifyAuditChain(store: AuditStore, publicKeyPem: string | KeyObject): Promise<AuditChainVerification> {
  return (await walkChain(store, toPublicKey(publicKeyPem))).result;
}

/** The chain checked as by `verifyAuditChain`, then against a saved checkpoint. */
export type AuditCheckpointVerification =
  | AuditChainVerification
  /** The checkpoint's signature does not verify: it proves nothing (and the chain was not walked). */
  | { ok: false; count: number; checkpointForged: true }
  /** The chain ends before the checkpoint's record: its newest records were cut off. */
  | { ok: false; count: number; cutOff: { chainEndsAt: number; checkpointSeq: number } };

/**
 * Also proves what the chain alone cannot: that it still reaches the checkpoint's record, with the
 * checkpoint's hash. Records cut off the end, with the head row rewound to match, fail here.
 */
export async function verifyAuditChainWithCheckpoint(
  store: AuditStore,
  publicKeyPem: string | KeyObject,
  checkpoint: AuditCheckpoint,
): Promise<AuditCheckpointVerification> {
  const publicKey = toPublicKey(publicKeyPem);
  if (!verifyCheckpointSignature(checkpoint, publicKey)) return { ok: false, count: 0, checkpointForged: true };
  const { result, end, atSeq } = await walkChain(store, publicKey, checkpoint.seq);
  if (!result.ok) return result;
  if (end < checkpoint.seq) return { ok: false, count: result.count, cutOff: { chainEndsAt: end, checkpointSeq: checkpoint.seq } };
  const hash = checkpoint.seq === 0 ? GENESIS_HASH : atSeq?.hash;
  if (hash !== checkpoint.hash) {
    const reason = 'hash is not the one the checkpoint names (the chain up to here was rewritten and re-signed, or the checkpoint is of another chain)';
    return { ok: false, count: result.count, firstBroken: { seq: checkpoint.seq, id: atSeq?.id ?? '(start of the chain)', reason } };
  }
  return result;
}

const toPublicKey = (key: string | KeyObject): KeyObject => (typeof key === 'string' ? createPublicKey(key) : key);

/** The walk, with where the verified chain ends and the record at `wantedSeq` (when asked for). */
async function walkChain(
  store: AuditStore,
  publicKey: KeyObject,
  wantedSeq?: number,
): Promise<{ result: AuditChainVerification; end: number; atSeq?: { id: string; hash: string } }> {
  // Read first: records appended while we walk are beyond it and not judged.
  const head = await store.readHead();
  let prev = { seq: 0, hash: GENESIS_HASH };
  let count = 0;
  let lastId: string | undefined;
  let atSeq: { id: string; hash: string } | undefined;
  const broken = (seq: number, id: string, reason: string) => ({ result: { ok: false as const, count, firstBroken: { seq, id, reason } }, end: prev.seq });

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
    if (record.seq === wantedSeq) atSeq = { id: record.id, hash: record.hash };
    count++;
  }

  // The head remembers the last append: a chain cut short at the end still disagrees with it.
  if (head.hash !== prev.hash) {
    return prev.seq === head.seq
      ? broken(prev.seq, lastId ?? '(none)', 'the chain head does not match this last record (the head was altered)')
      : broken(head.seq, '(missing)', `the chain ends at seq=${prev.seq} but its head names seq=${head.seq} (records were removed from the end)`);
  }
  return { result: { ok: true, count }, end: prev.seq, atSeq };
}

export interface AuditVerifyOptions {
  databaseUrl?: string;
  dataDir: string;
  publicKeyPem?: string;
  /** Used only to derive the public key when no public key is given. */
  privateKeyPem?: string;
  /** A saved checkpoint (the JSON of `GET /audit/checkpoint`) the chain must still contain. */
  checkpointFile?: string;
  /** An open store to verify instead of opening one from `databaseUrl`/`dataDir`; it is left open. */
  store?: AuditStore;
}

/** Without a checkpoint, a chain cut short with its head rewound to match verifies too: say so. */
export const NO_CHECKPOINT_CAVEAT =
  'without a saved checkpoint, removal of the newest records cannot be excluded; save GET /audit/checkpoint outside the database and pass --checkpoint FILE';

/**
 * `npm run audit:verify`: prints one line and returns the exit code: 0 intact (and containing the
 * checkpoint, if given), 1 broken or the checkpoint forged, 2 could not verify (no key, unreadable
 * checkpoint, store unreachable or locked by a running PGlite instance).
 */
export async function runAuditVerify(
  options: AuditVerifyOptions,
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  /** Sees why verification could not run (e.g. the embedded store is held by a running server). */
  onUnverifiable?: (error: unknown) => void,
): Promise<number> {
  let opened: AuditStore | undefined;
  try {
    const publicKey = resolveAuditPublicKey(options);
    const checkpoint = options.checkpointFile === undefined ? undefined : readCheckpoint(options.checkpointFile);
    const store = options.store ?? (opened = await openAuditStore(options));
    const result = checkpoint ? await verifyAuditChainWithCheckpoint(store, publicKey, checkpoint) : await verifyAuditChain(store, publicKey);
    if (result.ok) {
      print(
        checkpoint
          ? `audit chain intact: ${result.count} records, containing the checkpoint of seq=${checkpoint.seq} signed at ${checkpoint.time}`
          : `audit chain intact: ${result.count} records (${NO_CHECKPOINT_CAVEAT})`,
      );
      return 0;
    }
    if ('checkpointForged' in result) {
      print(`audit checkpoint REFUSED: checkpoint signature does not verify (the checkpoint was altered, forged or signed with another key)`);
    } else if ('cutOff' in result) {
      const { chainEndsAt, checkpointSeq } = result.cutOff;
      print(
        `audit chain BROKEN: the chain ends at seq=${chainEndsAt} but checkpoint names seq=${checkpointSeq}: ` +
          `records from seq=${chainEndsAt + 1} are missing (cut off the end)`,
      );
    } else {
      const { seq, id, reason } = result.firstBroken;
      print(`audit chain BROKEN at record seq=${seq} id=${id}: ${reason}`);
    }
    return 1;
  } catch (error) {
    onUnverifiable?.(error);
    if (!onUnverifiable) print(`audit chain NOT VERIFIED: ${(error as Error).message}`);
    return 2;
  } finally {
    await opened?.close().catch(() => undefined);
  }
}

function readCheckpoint(file: string): AuditCheckpoint {
  try {
    return parseCheckpoint(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`the checkpoint ${file} cannot be used: ${(error as Error).message}`, { cause: error });
  }
}
