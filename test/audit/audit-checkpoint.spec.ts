import { sql } from 'kysely';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { GENESIS_HASH } from '../../src/audit/audit-chain';
import {
  AuditCheckpoint,
  AuditCheckpointPublisher,
  parseCheckpoint,
  signCheckpoint,
  toCheckpointDocument,
  verifyCheckpointSignature,
} from '../../src/audit/audit-checkpoint';
import { AuditEventsController } from '../../src/audit/audit-events.controller';
import { AuditSigningKey } from '../../src/audit/audit-signing-key';
import { AuditService } from '../../src/audit/audit.service';
import { AuditRecord } from '../../src/audit/audit.types';
import { KyselyAuditStore } from '../../src/audit/kysely-audit.store';
import { AuditVerifyOptions, runAuditVerify, verifyAuditChainWithCheckpoint } from '../../src/audit/verify-audit-chain';
import { Caller, Scope } from '../../src/auth/caller';
import { loadVerifyConfig } from '../../src/config/verify-config';
import { aRecord, aSigningKey, PROJECT_A } from './support/audit-factories';
import { resetAuditTables, storeHarness, storeKinds } from '../support/audit-backend';

const privateKeyPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const key = AuditSigningKey.fromPem(privateKeyPem);
const caller = (projects: Caller['projects']): Caller => ({ kind: 'api-key', subject: 'auditor', scopes: new Set([Scope.AuditRead]), projects });
const CAVEAT =
  '(without a saved checkpoint, removal of the newest records cannot be excluded; save GET /audit/checkpoint outside the database and pass --checkpoint FILE)';

/** Signed checkpoints against records cut off the end of the chain, with the head row rewound to match. */
describe.each(storeKinds())('audit checkpoints on %s', (kind) => {
  const harness = storeHarness(kind);
  let store: KyselyAuditStore;
  let records: AuditRecord[];
  let files: string;

  beforeAll(async () => {
    await harness.setup();
    store = await harness.open();
    files = mkdtempSync(join(tmpdir(), 'audit-checkpoint-'));
  });
  afterAll(async () => {
    await store?.close();
    await harness.teardown();
    rmSync(files, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await resetAuditTables(store);
    records = [];
    await append(5);
  });

  async function append(n: number): Promise<void> {
    for (let i = 0; i < n; i++) records.push(await store.finalize(null, aRecord(), key));
  }

  /** As an operator saves `GET /audit/checkpoint`. */
  let saved = 0;
  function save(checkpoint: AuditCheckpoint | Record<string, unknown>): string {
    const file = join(files, `checkpoint-${++saved}.json`);
    writeFileSync(file, JSON.stringify('format' in checkpoint ? checkpoint : toCheckpointDocument(checkpoint as AuditCheckpoint)));
    return file;
  }

  const publisher = () => new AuditCheckpointPublisher(() => store.readHead(), key, pino({ level: 'silent' }), { everyRecords: 1000, intervalMs: 60_000 });
  const checkpointNow = () => publisher().current();

  /** Cuts the chain after record `k` and rewinds the head to it, as someone with write access could. */
  async function cutAfter(k: number): Promise<void> {
    await sql`delete from audit_records where seq > ${k}`.execute(store.db);
    const head = k === 0 ? { seq: 0, hash: GENESIS_HASH } : { seq: records[k - 1].seq, hash: records[k - 1].hash };
    await sql`update audit_chain_head set seq = ${head.seq}, hash = ${head.hash} where id = 1`.execute(store.db);
  }

  const lines: string[] = [];
  /** The verifier on the suite's open store (opening a store from its location is the CLI suites' subject). */
  async function verify(options: Partial<AuditVerifyOptions> = {}): Promise<number> {
    lines.length = 0;
    return runAuditVerify({ ...harness.location, publicKeyPem: key.publicKeyPem, store, ...options }, (line) => lines.push(line));
  }

  it('(a) accepts a chain that grew past a saved checkpoint', async () => {
    const checkpoint = await checkpointNow();
    expect(checkpoint).toMatchObject({ seq: 5, hash: records[4].hash });
    await append(3);

    await expect(verify({ checkpointFile: save(checkpoint) })).resolves.toBe(0);
    expect(lines).toEqual([`audit chain intact: 8 records, containing the checkpoint of seq=5 signed at ${checkpoint.time}`]);
  });

  it('(b) exposes the newest records cut off with the head rewound, which the chain alone cannot', async () => {
    await append(3);
    const file = save(await checkpointNow());
    await cutAfter(5);

    await expect(verify()).resolves.toBe(0);
    expect(lines).toEqual([`audit chain intact: 5 records ${CAVEAT}`]);

    await expect(verify({ checkpointFile: file })).resolves.toBe(1);
    expect(lines).toEqual(['audit chain BROKEN: the chain ends at seq=5 but checkpoint names seq=8: records from seq=6 are missing (cut off the end)']);
    await expect(verifyAuditChainWithCheckpoint(store, key.publicKey, parseCheckpoint(readFileSync(file, 'utf8')))).resolves.toEqual({
      ok: false,
      count: 5,
      cutOff: { chainEndsAt: 5, checkpointSeq: 8 },
    });
  });

  it('(c) exposes an emptied chain with the head reset to genesis', async () => {
    const file = save(await checkpointNow());
    await cutAfter(0);

    await expect(verify()).resolves.toBe(0);
    expect(lines).toEqual([`audit chain intact: 0 records ${CAVEAT}`]);

    await expect(verify({ checkpointFile: file })).resolves.toBe(1);
    expect(lines).toEqual(['audit chain BROKEN: the chain ends at seq=0 but checkpoint names seq=5: records from seq=1 are missing (cut off the end)']);
  });

  describe('(d) a checkpoint that is not genuine', () => {
    const refused = 'audit checkpoint REFUSED: checkpoint signature does not verify (the checkpoint was altered, forged or signed with another key)';

    it('is refused when signed with another key', async () => {
      const forged = signCheckpoint({ seq: 9, hash: 'f'.repeat(64) }, aSigningKey(), new Date());
      await expect(verify({ checkpointFile: save(forged) })).resolves.toBe(1);
      expect(lines).toEqual([refused]);
    });

    it.each([
      ['hash', (c: AuditCheckpoint) => ({ ...c, hash: records[2].hash })],
      ['seq', (c: AuditCheckpoint) => ({ ...c, seq: 3 })],
      ['time', (c: AuditCheckpoint) => ({ ...c, time: '2000-01-01T00:00:00.000Z' })],
    ])('is refused when its %s was edited', async (_field, edit) => {
      const genuine = await checkpointNow();
      await expect(verify({ checkpointFile: save(edit(genuine)) })).resolves.toBe(1);
      expect(lines).toEqual([refused]);
    });

    it('names the record when a genuinely signed checkpoint has another hash at its seq', async () => {
      // Only a holder of the private key can produce this: a rewritten chain, or a checkpoint of another chain.
      const other = signCheckpoint({ seq: 3, hash: 'f'.repeat(64) }, key, new Date());
      await expect(verify({ checkpointFile: save(other) })).resolves.toBe(1);
      expect(lines).toEqual([
        `audit chain BROKEN at record seq=3 id=${records[2].id}: hash is not the one the checkpoint names (the chain up to here was rewritten and re-signed, or the checkpoint is of another chain)`,
      ]);
    });
  });

  it('reports the chain itself broken first, as without a checkpoint', async () => {
    const file = save(await checkpointNow());
    await sql`update audit_records set http_status = 500 where seq = 2`.execute(store.db);
    await expect(verify({ checkpointFile: file })).resolves.toBe(1);
    expect(lines).toEqual([`audit chain BROKEN at record seq=2 id=${records[1].id}: hash does not match the record (the record was altered)`]);
  });

  it('exits 2 when the checkpoint file cannot be read or is not a checkpoint', async () => {
    await expect(verify({ checkpointFile: join(files, 'absent.json') })).resolves.toBe(2);
    expect(lines).toEqual([expect.stringMatching(/^audit chain NOT VERIFIED: the checkpoint .*absent\.json cannot be used: ENOENT/)]);

    const genuine = toCheckpointDocument(await checkpointNow());
    await expect(verify({ checkpointFile: save({ ...genuine, format: 'something/else' }) })).resolves.toBe(2);
    expect(lines).toEqual([expect.stringMatching(/cannot be used: not an audit checkpoint: format must be "sms-callback-bff\/audit-checkpoint\/v1"$/)]);
  });

  it('(e) is configured by the store and the public key alone, without any SMN setting', async () => {
    const publicKeyFile = join(files, 'audit-public.pem');
    writeFileSync(publicKeyFile, key.publicKeyPem);
    // Production without SMN credentials or projects: the service itself would refuse to start.
    const config = loadVerifyConfig({
      NODE_ENV: 'production',
      DATA_DIR: join(harness.location.dataDir, '..'),
      AUDIT_PUBLIC_KEY_FILE: publicKeyFile,
      ...(harness.location.databaseUrl ? { DATABASE_URL: harness.location.databaseUrl } : {}),
    });
    expect(config).toEqual({
      databaseUrl: harness.location.databaseUrl,
      dataDir: harness.location.dataDir,
      publicKeyPem: key.publicKeyPem,
      signingKeyPem: undefined,
      http: { host: '127.0.0.1', port: 3000 },
      developmentKey: false,
    });

    const file = save(await checkpointNow());
    // Here the verifier opens the store from that configuration; the embedded store is single-process.
    if (kind === 'pglite') await store.close();
    try {
      const options = { databaseUrl: config.databaseUrl, dataDir: config.dataDir, publicKeyPem: config.publicKeyPem, checkpointFile: file, store: undefined };
      await expect(verify(options)).resolves.toBe(0);
    } finally {
      if (kind === 'pglite') store = await harness.open();
    }
    expect(lines).toEqual([expect.stringMatching(/^audit chain intact: 5 records, containing the checkpoint of seq=5/)]);
  });

  describe('GET /audit/checkpoint (the handler; HTTP and auth in test/audit-e2e/)', () => {
    const controller = () => new AuditEventsController({} as AuditService, publisher());

    it('answers the signed checkpoint of the head, in the form the verifier reads', async () => {
      const body = await controller().checkpoint(caller('*'));
      expect(body).toEqual({
        format: 'sms-callback-bff/audit-checkpoint/v1',
        seq: 5,
        hash: records[4].hash,
        time: expect.any(String),
        signature: expect.any(String),
      });
      expect(verifyCheckpointSignature(parseCheckpoint(JSON.stringify(body)), key.publicKey)).toBe(true);
      await expect(verify({ checkpointFile: save(body) })).resolves.toBe(0);
    });

    it('refuses a caller limited to some projects', async () => {
      await expect(controller().checkpoint(caller(new Set([PROJECT_A])))).rejects.toMatchObject({ status: 403 });
    });
  });
});
