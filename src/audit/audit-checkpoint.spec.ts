import { generateKeyPairSync } from 'node:crypto';
import type { Logger } from 'pino';
import { signHash, verifyHashSignature } from './audit-chain';
import {
  AUDIT_CHECKPOINT_FORMAT,
  AuditCheckpoint,
  AuditCheckpointPublisher,
  checkpointText,
  parseCheckpoint,
  signCheckpoint,
  toCheckpointDocument,
  verifyCheckpointSignature,
} from './audit-checkpoint';
import { AuditSigningKey } from './audit-signing-key';

const key = new AuditSigningKey(generateKeyPairSync('ed25519').privateKey);
const otherKey = new AuditSigningKey(generateKeyPairSync('ed25519').privateKey);
const hashOf = (n: number) => n.toString(16).padStart(64, '0');
const NOW = new Date('2025-05-01T10:00:00.000Z');

describe('signCheckpoint / verifyCheckpointSignature', () => {
  const checkpoint = signCheckpoint({ seq: 42, hash: hashOf(42) }, key, NOW);

  it('signs the head and the time, verifiable with the public key', () => {
    expect(checkpoint).toEqual({ seq: 42, hash: hashOf(42), time: '2025-05-01T10:00:00.000Z', signature: expect.any(String) });
    expect(checkpointText(checkpoint)).toBe(`sms-callback-bff audit checkpoint v1\n42\n${hashOf(42)}\n2025-05-01T10:00:00.000Z`);
    expect(verifyCheckpointSignature(checkpoint, key.publicKey)).toBe(true);
  });

  it('refuses a checkpoint signed with another key', () => {
    expect(verifyCheckpointSignature(signCheckpoint({ seq: 42, hash: hashOf(42) }, otherKey, NOW), key.publicKey)).toBe(false);
  });

  it.each([
    ['seq', { seq: 43 }],
    ['hash', { hash: hashOf(41) }],
    ['time', { time: '2025-05-01T10:00:00.001Z' }],
    ['signature', { signature: signHash(generateKeyPairSync('ed25519').privateKey, 'x') }],
    ['signature (not base64)', { signature: '!!' }],
  ])('refuses an altered %s', (_field, change: Partial<AuditCheckpoint>) => {
    expect(verifyCheckpointSignature({ ...checkpoint, ...change }, key.publicKey)).toBe(false);
  });

  it('cannot be confused with a record-hash signature, either way', () => {
    // A record signature covers the bare hash; a checkpoint's covers its tagged text.
    expect(verifyHashSignature(key.publicKey, checkpoint.hash, checkpoint.signature)).toBe(false);
    expect(verifyCheckpointSignature({ ...checkpoint, signature: key.sign(checkpoint.hash) }, key.publicKey)).toBe(false);
  });
});

describe('parseCheckpoint', () => {
  const checkpoint = signCheckpoint({ seq: 7, hash: hashOf(7) }, key, NOW);
  const json = (change: Record<string, unknown> = {}) => JSON.stringify({ ...toCheckpointDocument(checkpoint), ...change });

  it('reads the JSON form back', () => {
    expect(toCheckpointDocument(checkpoint)).toEqual({ format: AUDIT_CHECKPOINT_FORMAT, ...checkpoint });
    expect(parseCheckpoint(json())).toEqual(checkpoint);
  });

  it.each([
    ['not JSON', '{"seq":', /not JSON/],
    ['an array', '[]', /expected a JSON object/],
    ['a wrong format tag', json({ format: 'sms-callback-bff/audit-checkpoint/v2' }), /format must be "sms-callback-bff\/audit-checkpoint\/v1"/],
    ['no format tag', json({ format: undefined }), /format must be/],
    ['a fractional seq', json({ seq: 1.5 }), /seq must be a non-negative integer/],
    ['a string seq', json({ seq: '7' }), /seq must be a non-negative integer/],
    ['a negative seq', json({ seq: -1 }), /seq must be a non-negative integer/],
    ['a short hash', json({ hash: 'abc' }), /hash must be 64 lowercase hex characters/],
    ['an uppercase hash', json({ hash: hashOf(7).toUpperCase().replace(/^0/, 'A') }), /hash must be 64/],
    ['a time that is no date', json({ time: 'yesterday' }), /time must be an ISO-8601 date-time/],
    ['an impossible date', json({ time: '2025-13-45T10:00:00Z' }), /time must be an ISO-8601 date-time/],
    ['no signature', json({ signature: undefined }), /signature is missing/],
    ['an empty signature', json({ signature: '' }), /signature is missing/],
    ['a signature that is not base64', json({ signature: 'not base64!' }), /signature must be base64/],
    ['an unknown field', json({ extra: 1 }), /unknown field\(s\): extra/],
  ])('refuses %s', (_case, input, message) => {
    expect(() => parseCheckpoint(input)).toThrow(message);
  });

  it('names every problem at once', () => {
    expect(() => parseCheckpoint(json({ seq: 'x', hash: 1 }))).toThrow(/seq must be .*; hash must be/);
  });
});

/** A logger that keeps what it was given. */
function recordingLogger() {
  const info: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const error: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const logger = {
    info: (fields: Record<string, unknown>, msg: string) => info.push({ fields, msg }),
    error: (fields: Record<string, unknown>, msg: string) => error.push({ fields, msg }),
  };
  const published = () => info.map((line) => line.fields.audit_checkpoint as AuditCheckpoint & { format: string });
  return { logger: logger as unknown as Logger, info, error, published };
}

describe('AuditCheckpointPublisher', () => {
  let head: { seq: number; hash: string };
  let readHead: jest.Mock<Promise<{ seq: number; hash: string }>, []>;
  let now: Date;
  let log: ReturnType<typeof recordingLogger>;

  const publisher = (everyRecords = 3, intervalMs = 60_000) => new AuditCheckpointPublisher(readHead, key, log.logger, { everyRecords, intervalMs }, () => now);
  const note = (p: AuditCheckpointPublisher, ...seqs: number[]) => seqs.forEach((seq) => p.noteAppended({ seq, hash: hashOf(seq) }));

  beforeEach(() => {
    head = { seq: 0, hash: hashOf(0) };
    readHead = jest.fn(() => Promise.resolve(head));
    now = NOW;
    log = recordingLogger();
  });

  it('checkpoints every Nth appended record, without reading the head', () => {
    const p = publisher(3);
    note(p, 1, 2);
    expect(log.info).toEqual([]);
    now = new Date('2025-05-01T10:01:00.000Z');
    note(p, 3);
    note(p, 4, 5);
    note(p, 6);

    expect(log.info.map((line) => line.msg)).toEqual(['audit checkpoint', 'audit checkpoint']);
    const [first, second] = log.published();
    expect(first).toEqual({ format: AUDIT_CHECKPOINT_FORMAT, seq: 3, hash: hashOf(3), time: '2025-05-01T10:01:00.000Z', signature: expect.any(String) });
    expect(verifyCheckpointSignature(first, key.publicKey)).toBe(true);
    expect(second).toMatchObject({ seq: 6, hash: hashOf(6) });
    expect(readHead).not.toHaveBeenCalled();
  });

  it('tells observers what the last published checkpoint covered and when, nothing before the first', async () => {
    const p = publisher(2);
    note(p, 1);
    expect(p.lastPublished()).toBeUndefined();
    note(p, 2);
    expect(p.lastPublished()).toEqual({ seq: 2, publishedAtMs: NOW.getTime() });
    head = { seq: 3, hash: hashOf(3) };
    now = new Date(NOW.getTime() + 60_000);
    await p.tick();
    expect(p.lastPublished()).toEqual({ seq: 3, publishedAtMs: NOW.getTime() + 60_000 });
    // A tick that publishes nothing (the head did not move) leaves it as it was.
    now = new Date(NOW.getTime() + 120_000);
    await p.tick();
    expect(p.lastPublished()).toEqual({ seq: 3, publishedAtMs: NOW.getTime() + 60_000 });
  });

  it('on a tick, publishes the head only when it moved', async () => {
    const p = publisher(1000);
    await p.tick();
    expect(log.info).toEqual([]); // an empty chain has nothing to checkpoint

    head = { seq: 5, hash: hashOf(5) };
    await p.tick();
    await p.tick();
    head = { seq: 6, hash: hashOf(6) };
    now = new Date('2025-05-01T10:05:00.000Z');
    await p.tick();

    expect(log.published()).toEqual([
      expect.objectContaining({ seq: 5, hash: hashOf(5), time: '2025-05-01T10:00:00.000Z' }),
      expect.objectContaining({ seq: 6, hash: hashOf(6), time: '2025-05-01T10:05:00.000Z' }),
    ]);
  });

  it('counts records from the last checkpoint of either kind', async () => {
    const p = publisher(3);
    note(p, 1, 2);
    head = { seq: 2, hash: hashOf(2) };
    await p.tick();
    note(p, 3, 4);
    expect(log.published().map((c) => c.seq)).toEqual([2]);
    note(p, 5);
    head = { seq: 5, hash: hashOf(5) };
    await p.tick(); // the head is where the last checkpoint left it
    expect(log.published().map((c) => c.seq)).toEqual([2, 5]);
    expect(log.error).toEqual([]);
  });

  it('skips a record noted after a newer checkpoint (appends finishing out of order)', async () => {
    const p = publisher(2);
    head = { seq: 9, hash: hashOf(9) };
    await p.tick();
    note(p, 7, 8);
    expect(log.published().map((c) => c.seq)).toEqual([9]);
    note(p, 10);
    expect(log.published().map((c) => c.seq)).toEqual([9, 10]);
  });

  it('logs a head read that fails, and does not throw', async () => {
    readHead.mockRejectedValueOnce(new Error('store down'));
    const p = publisher();
    await expect(p.tick()).resolves.toBeUndefined();
    expect(log.error).toEqual([{ fields: { err: expect.objectContaining({ message: 'store down' }) }, msg: expect.stringMatching(/could not be read/) }]);
    expect(log.info).toEqual([]);
  });

  it('signs nothing and raises an error when the head went back behind the last checkpoint', async () => {
    const p = publisher(2);
    note(p, 1, 2, 3, 4);
    head = { seq: 3, hash: hashOf(3) };
    await p.tick();
    expect(log.published().map((c) => c.seq)).toEqual([2, 4]);
    expect(log.error).toEqual([
      { fields: { audit_head: head, last_checkpoint: { seq: 4, hash: hashOf(4) } }, msg: expect.stringMatching(/not past the last checkpoint/) },
    ]);
  });

  it('does not mistake a head read overtaken by a newer checkpoint for a rewound head', async () => {
    let answer!: (value: { seq: number; hash: string }) => void;
    readHead.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
    const p = publisher(2);
    const tick = p.tick();
    note(p, 5, 6);
    answer({ seq: 4, hash: hashOf(4) });
    await tick;
    expect(log.published().map((c) => c.seq)).toEqual([6]);
    expect(log.error).toEqual([]);
  });

  it('signs the current head on request, without logging it', async () => {
    head = { seq: 12, hash: hashOf(12) };
    const checkpoint = await publisher().current();
    expect(checkpoint).toEqual({ seq: 12, hash: hashOf(12), time: NOW.toISOString(), signature: expect.any(String) });
    expect(verifyCheckpointSignature(checkpoint, key.publicKey)).toBe(true);
    expect(log.info).toEqual([]);
  });

  it('ticks on its interval between start and stop', async () => {
    jest.useFakeTimers();
    try {
      const p = publisher(1000, 1000);
      p.start();
      head = { seq: 1, hash: hashOf(1) };
      await jest.advanceTimersByTimeAsync(999);
      expect(readHead).not.toHaveBeenCalled();
      await jest.advanceTimersByTimeAsync(1);
      expect(log.published().map((c) => c.seq)).toEqual([1]);
      await p.stop();
      await jest.advanceTimersByTimeAsync(5000);
      expect(readHead).toHaveBeenCalledTimes(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses settings that would never or constantly checkpoint', () => {
    expect(() => publisher(0)).toThrow(/everyRecords >= 1/);
    expect(() => publisher(1, 0)).toThrow(/intervalMs >= 1/);
  });
});
