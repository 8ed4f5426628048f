import { sql } from 'kysely';
import { startHarness } from '../../support/bff-harness';
import { createBackend, storeOf } from '../support/audit-backend';
it('dbg', async () => {
  const b = await createBackend('pglite');
  const h = await startHarness(b.harnessEnv());
  const store = storeOf(h);
  console.log(typeof store.db, store.constructor.name);
  const q = sql`create function audit_e2e_refuse() returns trigger language plpgsql as $$ begin raise exception 'x'; end $$`;
  console.log(q.compile(store.db));
  await q.execute(store.db);
  await h.close(); await b.teardown();
});
