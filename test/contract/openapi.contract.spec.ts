import { readFileSync } from 'node:fs';
import { SPEC_PATH } from '../support/openapi-conformance';
import { ContractApp, startContractApp } from './support/contract-app';

/** Swagger UI and the live spec describe the API; they are not part of it. */
const NOT_IN_SPEC = /^\/docs(-json|-yaml|\/.*)?$/;
const SPEC_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'];

/** The committed spec lists every public route the app serves, and nothing it does not serve (README, API). */
describe('the committed spec and the served routes', () => {
  let app: ContractApp;
  beforeAll(async () => {
    app = await startContractApp();
  });
  afterAll(() => app?.close());

  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(spec.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
  );
  const served = () =>
    app.routes
      .filter((route) => SPEC_METHODS.includes(route.method) && !NOT_IN_SPEC.test(route.url) && route.url !== '*')
      .map((route) => `${route.method} ${route.url}`);

  it('documents every route the app serves', () => {
    expect(served()).toEqual(expect.arrayContaining(['GET /health/live', 'PUT /v2/:project_id/notifications/sms/callback']));
    expect(served().filter((route) => !documented.includes(route))).toEqual([]);
  });

  it('serves no /metrics on the public port, and so documents none (they have a listener of their own)', () => {
    expect(served()).not.toContain('GET /metrics');
    expect(documented).not.toContain('GET /metrics');
  });

  it('documents no route the app does not serve', () => {
    expect(documented.filter((route) => !served().includes(route))).toEqual([]);
  });
});
