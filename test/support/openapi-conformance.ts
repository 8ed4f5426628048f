import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every answer a test receives, checked against the committed spec (openapi/): the status must be documented
 * for the operation, the body must match its schema, the required headers must be there. So the spec cannot
 * drift from what the service really answers without a test noticing (README, API).
 *
 * Strictness beyond plain JSON Schema: an object schema that lists its properties and says nothing about
 * others is closed, so a field the service sends but the spec does not name fails too.
 *
 * Routes the spec does not describe (Swagger UI, the emulator, the toy apps of the auth suites) are not
 * checked, except that an error the BFF answers on them must still be the one envelope.
 */

export const SPEC_PATH = join(__dirname, '..', '..', 'openapi', 'sms-callback-bff.openapi.json');
const SPEC_ID = 'sms-callback-bff.openapi.json';

/** What the check needs of an answer, whatever client received it. */
export interface ReceivedResponse {
  method: string;
  /** Absolute URL or path, with or without a query string. */
  url: string;
  status: number;
  /** Header names in any case. */
  headers: Record<string, string | string[] | number | undefined>;
  /** The raw body text ('' when there is none). */
  text: string;
}

type Schema = Record<string, unknown>;
interface HeaderDoc {
  required?: boolean;
  schema?: Schema;
  $ref?: string;
}
interface ResponseDoc {
  headers?: Record<string, HeaderDoc>;
  content?: Record<string, { schema?: Schema }>;
}
interface OperationDoc {
  responses: Record<string, ResponseDoc>;
}
interface Spec {
  paths: Record<string, Record<string, OperationDoc>>;
  components: { schemas: Record<string, Schema>; headers?: Record<string, HeaderDoc> };
}

interface Route {
  template: string;
  pattern: RegExp;
  operations: Record<string, OperationDoc>;
}

class Conformance {
  private readonly ajv: Ajv;
  private readonly routes: Route[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly spec: Spec) {
    // `example` is an OpenAPI annotation, `components` holds the spec's schemas; `nullable` Ajv knows from OpenAPI.
    this.ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, allowUnionTypes: true });
    this.ajv.addVocabulary(['example', 'components']);
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: SPEC_ID, components: { schemas: closeObjects(spec.components.schemas) } } as Schema, undefined, undefined, false);
    this.routes = Object.entries(spec.paths).map(([template, operations]) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
      operations,
    }));
  }

  /** What does not conform, one line each; empty when the answer is what the spec says. */
  problems(received: ReceivedResponse): string[] {
    const method = received.method.toLowerCase();
    const path = pathOf(received.url);
    const route = this.routes.find((r) => r.pattern.test(path));
    // Fastify answers HEAD on every GET route, without a body.
    const operation = route?.operations[method === 'head' ? 'get' : method];
    if (!route || !operation) return this.undocumented(received);

    const key = [String(received.status), `${String(received.status)[0]}XX`, 'default'].find((k) => k in operation.responses);
    if (!key) return [`status ${received.status} is not documented for ${method.toUpperCase()} ${route.template}`];
    const doc = operation.responses[key];
    return [
      ...this.headerProblems(doc, received),
      ...(method === 'head' ? [] : this.bodyProblems(doc, received, `${method.toUpperCase()} ${route.template} ${key}`)),
    ];
  }

  private undocumented(received: ReceivedResponse): string[] {
    if (received.status < 400 || !isJson(received)) return [];
    return this.validate({ $ref: `${SPEC_ID}#/components/schemas/ErrorEnvelopeDto` }, 'envelope', parse(received.text)).map(
      (problem) => `an error answer outside the spec is not the envelope: ${problem}`,
    );
  }

  private headerProblems(doc: ResponseDoc, received: ReceivedResponse): string[] {
    const problems: string[] = [];
    for (const [name, declared] of Object.entries(doc.headers ?? {})) {
      const header = declared.$ref ? this.spec.components.headers?.[declared.$ref.split('/').pop() as string] : declared;
      const value = headerValue(received.headers, name);
      if (value === undefined) {
        if (header?.required) problems.push(`required header ${name} is missing`);
        continue;
      }
      if (header?.schema?.type === 'integer' && !/^\d+$/.test(value)) problems.push(`header ${name} is not an integer: ${JSON.stringify(value)}`);
    }
    return problems;
  }

  private bodyProblems(doc: ResponseDoc, received: ReceivedResponse, where: string): string[] {
    const content = doc.content ?? {};
    if (Object.keys(content).length === 0) return received.text === '' ? [] : [`${where} documents no body, but one was sent`];
    const type = String(headerValue(received.headers, 'content-type') ?? '')
      .split(';', 1)[0]
      .trim();
    const media = content[type];
    if (!media) return [`content type ${JSON.stringify(type)} is not documented (${Object.keys(content).join(', ')})`];
    if (!media.schema) return [];
    const body = type === 'application/json' ? parse(received.text) : received.text;
    return this.validate(media.schema, where, body);
  }

  private validate(schema: Schema, where: string, body: unknown): string[] {
    let validate = this.validators.get(where);
    if (!validate) {
      validate = this.ajv.compile(closeObjects(pointAtSpec(schema)) as Schema);
      this.validators.set(where, validate);
    }
    return validate(body) ? [] : (validate.errors ?? []).map(describe);
  }
}

let shared: Conformance | undefined;
/** The committed spec, read once per test file. */
const conformance = () => (shared ??= new Conformance(JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Spec));

/** Throws, naming what does not conform, unless the answer is what the committed spec says. */
export function assertConformsToSpec(received: ReceivedResponse): void {
  const problems = conformance().problems(received);
  if (problems.length) throw conformanceError(received, problems);
}

/** The same check, as an error to hand on (or undefined when the answer conforms). */
export function conformanceProblem(received: ReceivedResponse): Error | undefined {
  const problems = conformance().problems(received);
  return problems.length ? conformanceError(received, problems) : undefined;
}

function conformanceError(received: ReceivedResponse, problems: string[]): Error {
  const error = new Error(
    `${received.method.toUpperCase()} ${pathOf(received.url)} → ${received.status} does not conform to openapi/ (run \`npm run openapi\` if the spec is stale):\n` +
      problems.map((p) => `  - ${p}`).join('\n') +
      `\n  body: ${received.text.slice(0, 500)}`,
  );
  error.name = 'OpenApiConformanceError';
  return error;
}

/** A schema of the spec, its `#/components/…` references pointed at the registered spec. */
function pointAtSpec(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pointAtSpec);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${SPEC_ID}${v}` : pointAtSpec(v)]),
  );
}

/** Object schemas that list their properties and say nothing of others refuse others. */
function closeObjects<T>(value: T): T {
  if (Array.isArray(value)) return value.map(closeObjects) as T;
  if (!value || typeof value !== 'object') return value;
  const schema = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, closeObjects(v)])) as Schema;
  if (schema.properties && schema.additionalProperties === undefined && schema.type === 'object') schema.additionalProperties = false;
  return schema as T;
}

function describe(error: ErrorObject): string {
  const at = error.instancePath || '(body)';
  const extra = error.keyword === 'additionalProperties' ? ` (${String(error.params.additionalProperty)})` : '';
  return `${at} ${error.message ?? error.keyword}${extra}`;
}

function pathOf(url: string): string {
  return new URL(url, 'http://conformance.invalid').pathname;
}

function headerValue(headers: ReceivedResponse['headers'], name: string): string | undefined {
  const entry = Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase());
  const value = entry?.[1];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

function isJson(received: ReceivedResponse): boolean {
  return /^application\/json\b/.test(headerValue(received.headers, 'content-type') ?? '');
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

interface SupertestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text?: string;
}
type AssertFn = (this: SupertestTest, error: Error | null, res: SupertestResponse | undefined, fn?: (error: Error | null, res: unknown) => void) => void;
interface SupertestTest {
  method: string;
  url: string;
}
const INSTALLED = Symbol.for('sms-callback-bff.openapi-conformance');

/**
 * Checks every answer received through supertest (`request(...)`, `request.agent(...)`, the harness's `api`):
 * wraps `Test.prototype.assert`, which every path (`await`, `.then`, `.end`, `.expect`) goes through. The
 * test's own expectations are reported first; a non-conforming answer fails the request otherwise.
 */
export function installSupertestConformance(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object the tests import, to patch
  const { Test } = require('supertest') as { Test: { prototype: Record<PropertyKey, unknown> & { assert: AssertFn } } };
  if (Test.prototype[INSTALLED]) return;
  Test.prototype[INSTALLED] = true;
  const assert = Test.prototype.assert;
  Test.prototype.assert = function (this: SupertestTest, error, res, fn) {
    const problem = res && conformanceProblem({ method: this.method, url: this.url, status: res.status, headers: res.headers, text: res.text ?? '' });
    if (!problem) return assert.call(this, error, res, fn);
    return assert.call(this, error, res, (ownError, response) => fn?.call(this, ownError ?? problem, response));
  };
}

/** A light-my-request answer (Fastify's `inject`), checked and returned as it is. */
export function conformingInjection<T extends { statusCode: number; headers: ReceivedResponse['headers']; payload: string }>(
  request: { method?: string; url?: string | { pathname?: string } },
  res: T,
): T {
  const url = typeof request.url === 'string' ? request.url : (request.url?.pathname ?? '/');
  assertConformsToSpec({ method: request.method ?? 'GET', url, status: res.statusCode, headers: res.headers, text: res.payload });
  return res;
}

/**
 * `fetch` for answers of the BFF, checked like supertest's (the setup file leaves the global `fetch` alone:
 * suites also fetch from the emulator, whose answers the spec does not describe).
 */
export async function conformingFetch(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  const text = await res.clone().text();
  assertConformsToSpec({ method: init?.method ?? 'GET', url, status: res.status, headers: Object.fromEntries(res.headers), text });
  return res;
}
