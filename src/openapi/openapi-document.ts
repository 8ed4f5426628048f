import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { addSecuritySchemes } from '../auth/authenticated.decorator';

/** The spec served at /docs-json and written to openapi/ by `npm run openapi`. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = addSecuritySchemes(new DocumentBuilder())
    .setTitle('sms-callback-bff')
    .setDescription(
      'Reads and changes the SMS callback-event configuration of Huawei Cloud SMN projects, with the same paths and ' +
        'bodies as SMN v2 (ListSmsEvent, UpdateSmsEvent). Every error uses one envelope `{request_id, code, message, errors?, upstream?}`.',
    )
    .setVersion('0.1.0')
    // Relative: the spec describes whichever instance serves it (Swagger UI's "Try it out", generated clients).
    .addServer('/')
    .addTag('SMS callbacks', 'The callback-event configuration of an SMN project (SMN ListSmsEvent, UpdateSmsEvent).')
    .addTag('Audit', 'The tamper-evident record of every change attempt.')
    .addTag('Operations', 'Health, without authentication.')
    .build();
  return withRequestIdHeader(
    SwaggerModule.createDocument(app, config, {
      operationIdFactory: (_controller, method) => method,
    }),
  );
}

/** Every answer carries its correlation id (common/http-setup.ts), errors and successes alike. */
function withRequestIdHeader(document: OpenAPIObject): OpenAPIObject {
  document.components = {
    ...document.components,
    headers: {
      ...document.components?.headers,
      'X-Request-Id': {
        description: "This request's correlation id: the caller's own when it sent a sane one, else a new one. Also in logs and audit records.",
        required: true,
        schema: { type: 'string' },
      },
    },
  };
  for (const path of Object.values(document.paths)) {
    for (const operation of [path.get, path.put, path.post, path.delete, path.patch]) {
      for (const response of Object.values(operation?.responses ?? {})) {
        if (!response || '$ref' in response) continue;
        response.headers = { ...response.headers, 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } };
      }
    }
  }
  return document;
}

/** Deterministic JSON: keys sorted at every level, so the committed file only changes when the API does. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2) + '\n';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
