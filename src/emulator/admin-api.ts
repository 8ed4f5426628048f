import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { EmulatorState } from './emulator-state';
import { faultSpecSchema } from './faults';
import { jsonBody } from './raw-body';
import { PROJECT_ID, TOPIC_NAME } from './smn-callbacks';

/**
 * The emulator's own API under /_emulator/, for tests, demos and the benchmark. It has no
 * authentication: the emulator is a development tool and must never face the internet.
 * Bodies and answers use snake_case, like SMN.
 */

const addTopicSchema = z.strictObject({
  project_id: z.string().regex(PROJECT_ID, 'must be 32 lower-case hex characters'),
  name: z.string().regex(TOPIC_NAME, 'must match [A-Za-z0-9][-_A-Za-z0-9]{0,255}'),
  region: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .optional(),
});

const topicsQuerySchema = z.object({ project_id: z.string().optional() });
const requestsQuerySchema = z.object({ limit: z.coerce.number().int().positive().optional() });

export interface AdminErrorBody {
  error: string;
  issues?: Array<{ path: string; message: string }>;
}

/** `now` is the emulator's clock, which decides whether an AK lockout is still on. */
export function registerAdminApi(app: FastifyInstance, state: EmulatorState, now: () => number): void {
  const at = (path: string) => `/_emulator${path}`;

  app.get(at('/health'), () => ({ status: 'ok' }));

  app.get(at('/topics'), (request, reply) => {
    const query = parse(topicsQuerySchema, request.query, reply);
    return query.ok ? { topics: state.listTopics(query.value.project_id) } : query.error;
  });

  app.post(at('/topics'), (request, reply) => {
    const input = parse(addTopicSchema, jsonBody(request), reply);
    if (!input.ok) return input.error;
    const { project_id, name, region } = input.value;
    const added = state.addTopic(project_id, name, region);
    if (!added.ok) {
      reply.code(409);
      return { error: added.message };
    }
    reply.code(added.created ? 201 : 200);
    return added.topic;
  });

  app.get<{ Params: { projectId: string } }>(at('/state/:projectId'), (request) => state.snapshot(request.params.projectId));

  app.get(at('/requests'), (request, reply) => {
    const query = parse(requestsQuerySchema, request.query, reply);
    return query.ok ? { requests: state.requestLog.list(query.value.limit) } : query.error;
  });

  app.delete(at('/requests'), (_request, reply) => {
    state.requestLog.clear();
    void reply.code(204).send();
  });

  app.post(at('/reset'), (_request, reply) => {
    state.reset();
    void reply.code(204).send();
  });

  app.get(at('/faults'), () => ({ faults: state.faults.list() }));

  app.post(at('/faults'), (request, reply) => {
    const spec = parse(faultSpecSchema, jsonBody(request), reply);
    if (!spec.ok) return spec.error;
    reply.code(201);
    return state.faults.add(spec.value);
  });

  app.delete(at('/faults'), (_request, reply) => {
    state.faults.clear();
    void reply.code(204).send();
  });

  app.delete<{ Params: { id: string } }>(at('/faults/:id'), (request, reply) => {
    if (state.faults.remove(request.params.id)) return void reply.code(204).send();
    reply.code(404);
    return { error: `no fault ${request.params.id}` };
  });

  app.delete(at('/tokens'), (_request, reply) => {
    state.tokens.revokeAll();
    void reply.code(204).send();
  });

  app.get(at('/lockouts'), () => ({ lockouts: state.lockout.list(now()) }));

  app.delete(at('/lockouts'), (_request, reply) => {
    state.lockout.clear();
    void reply.code(204).send();
  });
}

/** The parsed input, or the error body to answer with (the status is then already 400). */
function parse<T>(schema: z.ZodType<T>, input: unknown, reply: FastifyReply): { ok: true; value: T } | { ok: false; error: AdminErrorBody } {
  const result = schema.safeParse(input ?? {});
  if (result.success) return { ok: true, value: result.data };
  reply.code(400);
  const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  return { ok: false, error: { error: 'invalid request', issues } };
}
