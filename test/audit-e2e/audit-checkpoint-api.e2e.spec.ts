import { createPublicKey } from 'node:crypto';
import request from 'supertest';
import { parseCheckpoint, verifyCheckpointSignature } from '../../src/audit/audit-checkpoint';
import { Scope } from '../../src/auth/caller';
import { CALLBACK_PATH, PROJECT_ID, SEED_BODY } from '../support/bff-harness';
import { apiKey, apiKeysEnv, auditHarnessPerSuite, storeKinds, storeOf, TestApiKey, waitFor } from '../support/audit-backend';

const KEYS = {
  writer: apiKey('writer', [Scope.SmsCallbackRead, Scope.SmsCallbackWrite], '*'),
  auditor: apiKey('auditor', [Scope.AuditRead], '*'),
  auditorA: apiKey('auditor-a', [Scope.AuditRead], [PROJECT_ID]),
  reader: apiKey('reader', [Scope.SmsCallbackRead], '*'),
};

/** `GET /audit/checkpoint`: the signed head an operator saves outside the database for `audit:verify --checkpoint`. */
describe.each(storeKinds())('GET /audit/checkpoint on %s', (kind) => {
  const suite = auditHarnessPerSuite(kind, { LOG_LEVEL: 'warn', AUTH_API_KEYS: apiKeysEnv(Object.values(KEYS)) });
  const get = (key?: TestApiKey) => {
    const req = request(suite.h.url).get('/audit/checkpoint');
    return key ? req.set('X-Api-Key', key.key) : req;
  };

  it('answers the signed checkpoint of the chain head, in the form the verifier reads', async () => {
    await request(suite.h.url).put(CALLBACK_PATH).set('X-Api-Key', KEYS.writer.key).send(SEED_BODY).expect(200);
    const head = await waitFor('the PUT to be recorded', async () => {
      const current = await storeOf(suite.h).readHead();
      return current.seq >= 1 && current;
    });

    const { body } = await get(KEYS.auditor).expect(200);
    const checkpoint = parseCheckpoint(JSON.stringify(body));
    expect(checkpoint).toMatchObject(head);
    expect(verifyCheckpointSignature(checkpoint, createPublicKey(suite.backend.signingKeyPem))).toBe(true);
  });

  it('needs audit:read on every project', async () => {
    await get(KEYS.auditorA).expect(403);
    await get(KEYS.reader).expect(403);
    await get().expect(401);
  });
});
