import { sql } from 'kysely';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { chainHash, signHash } from '../../src/audit/audit-chain';
import { AUDIT_CHECKPOINT_FORMAT, AuditCheckpointDocument, signCheckpoint, toCheckpointDocument } from '../../src/audit/audit-checkpoint';
import type { AuditRecord } from '../../src/audit/audit.types';
import type { KyselyAuditStore } from '../../src/audit/kysely-audit.store';
import { CALLBACK_PATH, Harness, SEED_BODY, startHarness, urn } from '../support/bff-harness';
import {
  assertBuilt,
  AuditBackend,
  storeKinds,
  CliResult,
  createBackend,
  newRequestId,
  recordsOf,
  runVerifyCli,
  storeOf,
  waitFor,
} from '../support/audit-backend';

/** Records of several outcomes, written by the real app through real HTTP. */
async function writeSomeHistory(h: Harness): Promise<string[]> {
  const ids = ['ok', 'smn-rejected', 'denied', 'invalid', 'removal', 'stale-etag'].map(newRequestId);
  const put = (i: number) => h.api.put(CALLBACK_PATH).set('X-Request-Id', ids[i]);
  await put(0).send(SEED_BODY).expect(200);
  await put(1)
    .send({ callback: [{ event_type: 'sms_fail_event', topic_urn: urn('no_such_topic') }] })
    .expect(400);
  await request(h.url).put(CALLBACK_PATH).set('X-Request-Id', ids[2]).send(SEED_BODY).expect(401);
  await put(3).send({ callback: [] }).expect(400);
  await put(4)
    .send({ callback: [{ event_type: 'sms_fail_event', topic_urn: '' }] })
    .expect(200);
  await put(5).set('If-Match', '"stale"').send(SEED_BODY).expect(412);
  return ids;
}

/**
 * Tamper evidence (README, Audit) through the real `audit:verify` CLI (a separate process, configured only by its
 * environment) on records the real app wrote. Store-level variants are in test/audit/audit-tamper.spec.ts.
 */
describe.each(storeKinds())('audit:verify on app-written records on %s', (kind) => {
  let backend: AuditBackend;
  let records: AuditRecord[];
  /** Opened directly once the app is gone (for PGlite, closed again while the CLI runs). */
  let store: KyselyAuditStore | undefined;

  beforeAll(async () => {
    await assertBuilt();
    backend = await createBackend(kind);
    const h = await startHarness(backend.harnessEnv({ LOG_LEVEL: 'warn' }));
    try {
      const ids = await writeSomeHistory(h);
      records = await recordsOf(storeOf(h), ...ids);
    } finally {
      // The embedded store is single-process: the app must be gone before anyone else opens it.
      await h.close();
    }
    expect(records.map((r) => [r.seq, r.outcome])).toEqual([
      [1, 'succeeded'],
      [2, 'rejected'],
      [3, 'denied'],
      [4, 'invalid'],
      [5, 'succeeded'],
      [6, 'rejected'],
    ]);
    store = await backend.openStore();
    // A pristine copy, so that every case tampers with the untouched history.
    await sql`create table pristine_records as select * from audit_records`.execute(store.db);
    await sql`create table pristine_head as select * from audit_chain_head`.execute(store.db);
  });
  afterAll(async () => {
    await store?.close();
    await backend?.teardown();
  });

  /** Whether the tables differ from the pristine copy. Restoring only then spares PGlite reopenings. */
  let dirty = false;
  const open = async (): Promise<KyselyAuditStore> => (store ??= await backend.openStore());

  async function pristine(): Promise<void> {
    if (!dirty) return;
    const { db } = await open();
    await sql`delete from audit_records`.execute(db);
    await sql`insert into audit_records overriding system value select * from pristine_records`.execute(db);
    await sql`update audit_chain_head h set seq = p.seq, hash = p.hash from pristine_head p where h.id = p.id`.execute(db);
    dirty = false;
  }

  /** Changes the pristine history as someone with write access to the database could. */
  async function tamper(change: (store: KyselyAuditStore) => Promise<unknown>): Promise<void> {
    await pristine();
    dirty = true;
    await change(await open());
  }

  /** The CLI as an operator runs it; PGlite is single-process, so our handle is closed first. */
  async function verify(args: string[] = [], env = backend.processEnv()): Promise<CliResult> {
    if (kind === 'pglite') {
      await store?.close();
      store = undefined;
    }
    const result = await runVerifyCli(env, args);
    return { ...result, stdout: result.stdout.trim() };
  }

  it('exits 0 on the untouched chain, also with only the public key', async () => {
    await pristine();
    expect(await verify()).toMatchObject({ code: 0, stdout: expect.stringMatching(/^audit chain intact: 6 records \(without a saved checkpoint/) });
    const publicKeyFile = join(backend.dataDir, '..', 'audit-public.pem');
    writeFileSync(publicKeyFile, createPublicKey(backend.signingKeyPem).export({ type: 'spki', format: 'pem' }));
    expect(await verify(['--public-key', publicKeyFile])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^audit chain intact: 6 records \(without a saved checkpoint/),
    });
  });

  it('exits 2 when it has no key to verify with', async () => {
    await pristine();
    const { AUDIT_SIGNING_KEY: _key, ...withoutKey } = backend.processEnv();
    const result = await verify([], withoutKey);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^audit chain NOT VERIFIED: No audit public key/);
  });

  it('refuses a chain signed with another key', async () => {
    await pristine();
    const otherKeyFile = join(backend.dataDir, '..', 'other-public.pem');
    writeFileSync(otherKeyFile, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const result = await verify(['--public-key', otherKeyFile]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^audit chain BROKEN at record seq=1 id=${records[0].id}: signature does not verify`));
  });

  it('names a record one of whose fields was changed', async () => {
    // Turn the denial into a success.
    await tamper((s) => sql`update audit_records set outcome = 'succeeded' where seq = 3`.execute(s.db));
    expect(await verify()).toMatchObject({
      code: 1,
      stdout: `audit chain BROKEN at record seq=3 id=${records[2].id}: hash does not match the record (the record was altered)`,
    });
  });

  it('names the record after a deleted one', async () => {
    await tamper((s) => sql`delete from audit_records where seq = 3`.execute(s.db));
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      `audit chain BROKEN at record seq=4 id=${records[3].id}: prev_hash does not match the hash of record seq=2 (a record was removed or altered)`,
    );
  });

  it('notices the last record deleted', async () => {
    await tamper((s) => sql`delete from audit_records where seq = 6`.execute(s.db));
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^audit chain BROKEN at record seq=6 id=\(missing\): .*removed from the end/);
  });

  it('exposes a change whose later hashes were all recomputed with sha256, through the signatures', async () => {
    // The attacker writes to the database and knows the algorithm, but not the private key.
    await tamper(async (tampered) => {
      await sql`update audit_records set requested = ${JSON.stringify({ callback: [] })}::jsonb where seq = 2`.execute(tampered.db);
      let prevHash = records[0].hash;
      for await (const record of tampered.readChain()) {
        if (record.seq < 2) continue;
        const hash = chainHash(prevHash, record);
        await sql`update audit_records set prev_hash = ${prevHash}, hash = ${hash} where seq = ${record.seq}`.execute(tampered.db);
        prevHash = hash;
      }
      await sql`update audit_chain_head set hash = ${prevHash} where id = 1`.execute(tampered.db);
    });

    expect(await verify()).toMatchObject({
      code: 1,
      stdout: `audit chain BROKEN at record seq=2 id=${records[1].id}: signature does not verify (the hash was recomputed or signed with another key)`,
    });
  });
});

describe('audit:verify while a server holds the embedded store', () => {
  let backend: AuditBackend;
  let h: Harness;
  let records: AuditRecord[];

  beforeAll(async () => {
    await assertBuilt();
    backend = await createBackend('pglite');
    h = await startHarness(backend.harnessEnv({ LOG_LEVEL: 'warn' }));
    records = await recordsOf(storeOf(h), ...(await writeSomeHistory(h)));
  });
  afterAll(async () => {
    await h?.close();
    await backend?.teardown();
  });

  // The CLI finds the directory locked and asks the server at HOST:PORT (the development key is on here).
  const verifyNow = async (args: string[] = []) => {
    const { port } = new URL(h.url);
    const result = await runVerifyCli(backend.processEnv({ HOST: '127.0.0.1', PORT: port }), args);
    return { ...result, stdout: result.stdout.trim() };
  };

  // With the store held by the server, the server can verify only with its own key; an operator's independent
  // public key must never be reported as verified that way.
  it('does not report intact for a public key the chain was not signed with', async () => {
    const otherKeyFile = join(backend.dataDir, '..', 'other-public.pem');
    writeFileSync(otherKeyFile, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    expect((await verifyNow(['--public-key', otherKeyFile])).code).not.toBe(0);
  });

  it('asks the server, which verifies the chain and names a tampered record', async () => {
    expect(await verifyNow()).toMatchObject({ code: 0, stdout: expect.stringMatching(/^audit chain intact: 6 records \(verified by the running server/) });

    await sql`update audit_records set actor_subject = 'someone-else' where seq = 5`.execute(storeOf(h).db);
    const result = await verifyNow();
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^audit chain BROKEN at record seq=5 id=${records[4].id}: hash does not match`));
  });
});

/**
 * `audit:verify --checkpoint FILE` as an operator runs it: a checkpoint saved from the running BFF (`GET
 * /audit/checkpoint`) outside the database exposes what the chain alone cannot, its newest records cut off
 * with the head row rewound to match. Store-level variants are in test/audit/audit-checkpoint.spec.ts.
 */
describe.each(storeKinds())('audit:verify --checkpoint on app-written records on %s', (kind) => {
  let backend: AuditBackend;
  /** Where the operator keeps checkpoints: outside the database and its data directory. */
  let checkpointDir: string;
  let checkpointFile: string;
  let checkpoint: AuditCheckpointDocument;
  /** The whole chain: 6 records before the checkpoint, 2 after it. */
  let records: AuditRecord[];
  let store: KyselyAuditStore | undefined;

  beforeAll(async () => {
    await assertBuilt();
    backend = await createBackend(kind);
    checkpointDir = mkdtempSync(join(tmpdir(), 'audit-checkpoint-'));
    checkpointFile = join(checkpointDir, 'checkpoint.json');
    const h = await startHarness(backend.harnessEnv({ LOG_LEVEL: 'warn' }));
    try {
      const headAt = (seq: number) => waitFor(`the chain head to reach seq=${seq}`, async () => (await storeOf(h).readHead()).seq >= seq);
      const before = await writeSomeHistory(h);
      await headAt(6);
      // The development key has audit:read on every project; saved as served, as `curl -o FILE` would.
      const response = await h.api.get('/audit/checkpoint').expect(200);
      writeFileSync(checkpointFile, response.text);
      checkpoint = JSON.parse(response.text) as AuditCheckpointDocument;
      const after = [newRequestId('after-1'), newRequestId('after-2')];
      await h.api.put(CALLBACK_PATH).set('X-Request-Id', after[0]).send(SEED_BODY).expect(200);
      await h.api
        .put(CALLBACK_PATH)
        .set('X-Request-Id', after[1])
        .send({ callback: [{ event_type: 'sms_fail_event', topic_urn: urn('test_fail') }] })
        .expect(200);
      await headAt(8);
      records = await recordsOf(storeOf(h), ...before, ...after);
    } finally {
      // The embedded store is single-process: the app must be gone before the CLI (or we) can open it.
      await h.close();
    }
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(checkpoint).toMatchObject({ format: AUDIT_CHECKPOINT_FORMAT, seq: 6, hash: records[5].hash });
  });
  afterAll(async () => {
    await store?.close();
    await backend?.teardown();
    if (checkpointDir) rmSync(checkpointDir, { recursive: true, force: true });
  });

  /** The CLI as an operator runs it; PGlite is single-process, so our handle is closed first. */
  async function verify(args: string[] = [], env = backend.processEnv()): Promise<CliResult> {
    if (kind === 'pglite') {
      await store?.close();
      store = undefined;
    }
    // A build running meanwhile (`npm test` builds first) empties dist/ for a while: wait for it again.
    await assertBuilt();
    const result = await runVerifyCli(env, args);
    return { ...result, stdout: result.stdout.trim() };
  }

  const intactLine = (count: number) => `audit chain intact: ${count} records, containing the checkpoint of seq=6 signed at ${checkpoint.time}`;

  /** A checkpoint file of our own, next to the saved one. */
  function saveCheckpoint(name: string, document: AuditCheckpointDocument): string {
    const file = join(checkpointDir, name);
    writeFileSync(file, JSON.stringify(document));
    return file;
  }

  it('exits 0 with the saved checkpoint, which the chain contains', async () => {
    expect(await verify(['--checkpoint', checkpointFile])).toMatchObject({ code: 0, stdout: intactLine(8) });
  });

  it('needs only the store and the key, no service configuration', async () => {
    const where: Record<string, string> = backend.databaseUrl ? { DATABASE_URL: backend.databaseUrl } : { DATA_DIR: backend.dataDir };
    const publicKeyPem = createPublicKey(backend.signingKeyPem).export({ type: 'spki', format: 'pem' }).toString();
    // Not even PATH or NODE_ENV: exactly the store's location and one key.
    const keys: Array<Record<string, string>> = [{ AUDIT_PUBLIC_KEY: publicKeyPem }, { AUDIT_SIGNING_KEY: backend.signingKeyPem }];
    for (const key of keys) {
      expect(await verify(['--checkpoint', checkpointFile], { ...where, ...key })).toMatchObject({ code: 0, stdout: intactLine(8) });
    }
  });

  const forgeries: Array<[string, () => AuditCheckpointDocument]> = [
    // Each would pass, or fail for another reason, if the signature were not checked.
    ['its hash replaced', () => ({ ...checkpoint, hash: records[4].hash })],
    ['its seq and hash moved to a later record', () => ({ ...checkpoint, seq: 8, hash: records[7].hash })],
    ['its time moved', () => ({ ...checkpoint, time: new Date(Date.parse(checkpoint.time) + 60_000).toISOString() })],
    [
      'it signed with another Ed25519 key',
      () => {
        const otherKey = generateKeyPairSync('ed25519').privateKey;
        return toCheckpointDocument(signCheckpoint({ seq: 8, hash: records[7].hash }, { sign: (text) => signHash(otherKey, text) }, new Date()));
      },
    ],
  ];
  it.each(forgeries)('refuses a checkpoint with %s', async (name, forge) => {
    const file = saveCheckpoint(`forged-${name.replace(/\W+/g, '-')}.json`, forge());
    expect(await verify(['--checkpoint', file])).toMatchObject({
      code: 1,
      stdout: 'audit checkpoint REFUSED: checkpoint signature does not verify (the checkpoint was altered, forged or signed with another key)',
    });
  });

  it('exits 2 for a checkpoint file it cannot use', async () => {
    const missing = join(checkpointDir, 'missing.json');
    const notCheckpoint = join(checkpointDir, 'not-a-checkpoint.json');
    writeFileSync(notCheckpoint, JSON.stringify({ seq: 6 }));
    for (const file of [missing, notCheckpoint]) {
      const result = await verify(['--checkpoint', file]);
      expect(result).toMatchObject({ code: 2, stdout: expect.stringMatching(new RegExp(`^audit chain NOT VERIFIED: the checkpoint ${file} cannot be used`)) });
    }
  });

  // Last: it cuts the chain for good (the cases above need it whole).
  it('passes a chain cut short with its head rewound only without the checkpoint, and names the first missing record with it', async () => {
    // Records from seq=5 on (two before the checkpoint's seq=6, and both after it) are deleted, and the head
    // row rewound to the last one left, as someone with write access to the database could.
    const firstMissing = checkpoint.seq - 1;
    const lastLeft = records[firstMissing - 2];
    store ??= await backend.openStore();
    await sql`delete from audit_records where seq >= ${firstMissing}`.execute(store.db);
    await sql`update audit_chain_head set seq = ${lastLeft.seq}, hash = ${lastLeft.hash} where id = 1`.execute(store.db);
    expect(await store.readHead()).toMatchObject({ seq: lastLeft.seq, hash: lastLeft.hash });

    expect(await verify()).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        new RegExp(`^audit chain intact: ${lastLeft.seq} records \\(without a saved checkpoint, removal of the newest records cannot be excluded`),
      ),
    });

    const result = await verify(['--checkpoint', checkpointFile]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^audit chain BROKEN\\b.*\\brecords from seq=${firstMissing} are missing`));
  });
});
