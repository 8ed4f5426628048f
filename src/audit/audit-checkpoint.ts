import { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { AuditSigner, verifyHashSignature } from './audit-chain';
import { AuditCheckpointStatus, PublishedCheckpoint } from './audit-checkpoint-status';

/** The `format` of a checkpoint as served, logged and saved to a file. */
export const AUDIT_CHECKPOINT_FORMAT = 'sms-callback-bff/audit-checkpoint/v1';

/**
 * A signed statement "the chain had `seq` records, the last with `hash`, at `time`". Kept outside the
 * database, it exposes what the chain alone cannot: newest records cut off and the head row rewound.
 */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  /** ISO-8601, when signed. */
  time: string;
  /** Ed25519 signature of `checkpointText`, base64. */
  signature: string;
}

/** The JSON form (endpoint, log line, file): the checkpoint tagged with its format. */
export type AuditCheckpointDocument = { format: typeof AUDIT_CHECKPOINT_FORMAT } & AuditCheckpoint;

export const DEFAULT_CHECKPOINT_EVERY_RECORDS = 1000;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 300_000;

/**
 * The signed text. Record signatures cover a bare 64-hex hash; this text never is one, so neither
 * signature can be passed off as the other.
 */
export function checkpointText(checkpoint: Pick<AuditCheckpoint, 'seq' | 'hash' | 'time'>): string {
  return `sms-callback-bff audit checkpoint v1\n${checkpoint.seq}\n${checkpoint.hash}\n${checkpoint.time}`;
}

export function signCheckpoint(head: { seq: number; hash: string }, signer: AuditSigner, now: Date): AuditCheckpoint {
  const unsigned = { seq: head.seq, hash: head.hash, time: now.toISOString() };
  return { ...unsigned, signature: signer.sign(checkpointText(unsigned)) };
}

export function verifyCheckpointSignature(checkpoint: AuditCheckpoint, publicKey: KeyObject): boolean {
  return verifyHashSignature(publicKey, checkpointText(checkpoint), checkpoint.signature);
}

export function toCheckpointDocument(checkpoint: AuditCheckpoint): AuditCheckpointDocument {
  const { seq, hash, time, signature } = checkpoint;
  return { format: AUDIT_CHECKPOINT_FORMAT, seq, hash, time, signature };
}

const FIELDS = new Set(['format', 'seq', 'hash', 'time', 'signature']);
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Reads the JSON form; throws naming every problem. The signature is not checked here. */
export function parseCheckpoint(json: string): AuditCheckpoint {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new Error(`not an audit checkpoint: not JSON (${(error as Error).message})`, { cause: error });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an audit checkpoint: expected a JSON object');
  const { format, seq, hash, time, signature } = value as Record<string, unknown>;
  const problems: string[] = [];
  if (format !== AUDIT_CHECKPOINT_FORMAT) problems.push(`format must be "${AUDIT_CHECKPOINT_FORMAT}"`);
  if (!Number.isSafeInteger(seq) || (seq as number) < 0) problems.push('seq must be a non-negative integer');
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) problems.push('hash must be 64 lowercase hex characters');
  if (typeof time !== 'string' || !ISO_TIME.test(time) || Number.isNaN(Date.parse(time))) problems.push('time must be an ISO-8601 date-time');
  if (signature === undefined || signature === '') problems.push('signature is missing');
  else if (typeof signature !== 'string' || !BASE64.test(signature)) problems.push('signature must be base64');
  const unknown = Object.keys(value).filter((key) => !FIELDS.has(key));
  if (unknown.length) problems.push(`unknown field(s): ${unknown.join(', ')}`);
  if (problems.length) throw new Error(`not an audit checkpoint: ${problems.join('; ')}`);
  return { seq: seq as number, hash: hash as string, time: time as string, signature: signature as string };
}

type Head = { seq: number; hash: string };

/**
 * Publishes signed checkpoints as structured log lines (`"msg":"audit checkpoint"`), so that they leave
 * the database with the logs: after every `everyRecords` records this instance appended, and every
 * `intervalMs` when the head moved since the last one.
 */
export class AuditCheckpointPublisher implements AuditCheckpointStatus, OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private sinceLast = 0;
  private last?: Head;
  private lastAtMs?: number;
  /** Counts publications, so a tick can tell that its head read was overtaken by one. */
  private published = 0;

  constructor(
    private readonly readHead: () => Promise<Head>,
    private readonly signer: AuditSigner,
    private readonly logger: Logger,
    private readonly options: { everyRecords: number; intervalMs: number },
    private readonly clock: () => Date = () => new Date(),
  ) {
    if (!(options.everyRecords >= 1) || !(options.intervalMs >= 1)) {
      throw new Error(`Audit checkpoints need everyRecords >= 1 and intervalMs >= 1, got ${options.everyRecords} and ${options.intervalMs}.`);
    }
  }

  /** Called after each stored record; the Nth since the last checkpoint is checkpointed (no extra query). Never throws. */
  noteAppended(record: Head): void {
    if (++this.sinceLast < this.options.everyRecords) return;
    // Appends finishing out of order: a record behind the last checkpoint adds nothing.
    if (this.last && record.seq <= this.last.seq) return;
    this.publish(record);
  }

  /** Reads the head and publishes it if it moved. Read errors are logged, never thrown. Overlapping calls share one run. */
  tick(): Promise<void> {
    this.ticking ??= this.readAndPublish().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  /** The signed checkpoint of the current head (not logged). */
  async current(): Promise<AuditCheckpoint> {
    return signCheckpoint(await this.readHead(), this.signer, this.clock());
  }

  lastPublished(): PublishedCheckpoint | undefined {
    return this.last && this.lastAtMs !== undefined ? { seq: this.last.seq, publishedAtMs: this.lastAtMs } : undefined;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer, letting a tick under way finish. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  onModuleInit(): void {
    this.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.stop();
  }

  private async readAndPublish(): Promise<void> {
    const before = this.published;
    let head: Head;
    try {
      head = await this.readHead();
    } catch (error) {
      this.logger.error({ err: error }, 'audit chain head could not be read for a checkpoint; retrying at the next interval');
      return;
    }
    const last = this.last;
    if (head.seq === 0 || (last && head.seq === last.seq && head.hash === last.hash)) return;
    if (last && head.seq <= last.seq) {
      // Older than a checkpoint published after this read began: not news. Otherwise the head went back.
      if (this.published !== before) return;
      this.logger.error(
        { audit_head: head, last_checkpoint: last },
        'audit chain head is not past the last checkpoint: records were removed or the head was rewritten; not signed',
      );
      return;
    }
    this.publish(head);
  }

  private publish(head: Head): void {
    try {
      const now = this.clock();
      const checkpoint = signCheckpoint(head, this.signer, now);
      this.logger.info({ audit_checkpoint: toCheckpointDocument(checkpoint) }, 'audit checkpoint');
      this.last = { seq: head.seq, hash: head.hash };
      this.lastAtMs = now.getTime();
      this.sinceLast = 0;
      this.published++;
    } catch (error) {
      this.logger.error({ err: error, audit_head: head }, 'audit checkpoint could not be signed');
    }
  }
}

/** The provider factory (`AuditModule`): `AuditStore`, `AuditSigningKey`, `AuditOptions`, the app logger. */
export function createAuditCheckpointPublisher(
  store: { readHead(): Promise<Head> },
  signer: AuditSigner,
  options: { checkpointEveryRecords?: number; checkpointIntervalMs?: number },
  logger: Logger,
): AuditCheckpointPublisher {
  return new AuditCheckpointPublisher(() => store.readHead(), signer, logger.child({ component: 'audit' }), {
    everyRecords: options.checkpointEveryRecords ?? DEFAULT_CHECKPOINT_EVERY_RECORDS,
    intervalMs: options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
  });
}
