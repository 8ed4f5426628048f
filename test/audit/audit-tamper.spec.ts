import { sql } from 'kysely';
import { generateKeyPairSync } from 'node:crypto';
import { chainHash } from '../../src/audit/audit-chain';
import { AuditSigningKey } from '../../src/audit/audit-signing-key';
import { AuditRecord } from '../../src/audit/audit.types';
import { KyselyAuditStore } from '../../src/audit/kysely-audit.store';
import { runAuditVerify, verifyAuditChain } from '../../src/audit/verify-audit-chain';
import { aRecord, aSigningKey, PROJECT_B } from './support/audit-factories';
import { resetAuditTables, storeHarness, storeKinds } from '../support/audit-backend';

const privateKeyPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const key = AuditSigningKey.fromPem(privateKeyPem);

describe.each(storeKinds())('audit chain tampering on %s', (kind) => {
  const harness = storeHarness(kind);
  let store: KyselyAuditStore;
  let records: AuditRecord[];

  beforeAll(async () => {
    await harness.setup();
    store = await harness.open();
  });
  afterAll(async () => {
    await store?.close();
    await harness.teardown();
  });
  beforeEach(async () => {
    await resetAuditTables(store);
    records = [];
    for (let i = 0; i < 5; i++) records.push(await store.finalize(null, aRecord(), key));
  });

  const verify = () => verifyAuditChain(store, key.publicKeyPem);

  it('verifies an untouched chain', async () => {
    await expect(verify()).resolves.toEqual({ ok: true, count: 5 });
  });

  it('names a record whose field was changed', async () => {
    await sql`update audit_records set outcome = 'succeeded', project_id = ${PROJECT_B} where seq = 3`.execute(store.db);
    await expect(verify()).resolves.toEqual({
      ok: false,
      count: 2,
      firstBroken: { seq: 3, id: records[2].id, reason: expect.stringMatching(/hash does not match/) },
    });
  });

  it('names the record after a deleted one', async () => {
    await sql`delete from audit_records where seq = 3`.execute(store.db);
    await expect(verify()).resolves.toMatchObject({
      ok: false,
      firstBroken: { seq: 4, id: records[3].id, reason: expect.stringMatching(/prev_hash does not match the hash of record seq=2/) },
    });
  });

  it('notices records cut off the end of the chain', async () => {
    await sql`delete from audit_records where seq >= 4`.execute(store.db);
    await expect(verify()).resolves.toMatchObject({ ok: false, count: 3, firstBroken: { seq: 5, reason: expect.stringMatching(/removed from the end/) } });
  });

  it('exposes a change whose hashes were all recomputed, through the signatures', async () => {
    // The attacker can write to the database and knows the algorithm, but has no private key.
    await sql`update audit_records set requested = ${JSON.stringify({ callback: [] })}::jsonb where seq = 2`.execute(store.db);
    let prevHash = records[0].hash;
    for await (const record of store.readChain()) {
      if (record.seq < 2) continue;
      const hash = chainHash(prevHash, record);
      await sql`update audit_records set prev_hash = ${prevHash}, hash = ${hash} where seq = ${record.seq}`.execute(store.db);
      prevHash = hash;
    }
    await sql`update audit_chain_head set hash = ${prevHash} where id = 1`.execute(store.db);

    await expect(verify()).resolves.toEqual({
      ok: false,
      count: 1,
      firstBroken: { seq: 2, id: records[1].id, reason: expect.stringMatching(/signature does not verify/) },
    });
  });

  it('rejects signatures made with another key', async () => {
    await expect(verifyAuditChain(store, aSigningKey().publicKeyPem)).resolves.toMatchObject({ ok: false, count: 0, firstBroken: { seq: 1 } });
  });

  describe('runAuditVerify', () => {
    const lines: string[] = [];
    /** On the suite's open store, or (`fromLocation`) opening the store itself as the CLI does. */
    const run = async (options: { publicKeyPem?: string; privateKeyPem?: string }, fromLocation = false) => {
      lines.length = 0;
      if (!fromLocation) return runAuditVerify({ ...harness.location, ...options, store }, (line) => lines.push(line));
      // The embedded store is single-process: the verifier opens it itself.
      if (kind === 'pglite') await store.close();
      try {
        return await runAuditVerify({ ...harness.location, ...options }, (line) => lines.push(line));
      } finally {
        if (kind === 'pglite') store = await harness.open();
      }
    };

    it('prints the count and exits 0 when intact, opening the store from its location', async () => {
      await expect(run({ publicKeyPem: key.publicKeyPem }, true)).resolves.toBe(0);
      expect(lines).toEqual([
        expect.stringMatching(/^audit chain intact: 5 records \(without a saved checkpoint, removal of the newest records cannot be excluded/),
      ]);
    });

    it('names the first broken record and exits 1', async () => {
      await sql`update audit_records set http_status = 500 where seq = 4`.execute(store.db);
      await expect(run({ privateKeyPem })).resolves.toBe(1);
      expect(lines).toEqual([`audit chain BROKEN at record seq=4 id=${records[3].id}: hash does not match the record (the record was altered)`]);
    });

    it('exits 2 when there is no key to verify with', async () => {
      await expect(run({})).resolves.toBe(2);
      expect(lines[0]).toMatch(/^audit chain NOT VERIFIED: No audit public key/);
    });
  });
});
