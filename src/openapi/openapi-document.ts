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
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controller, method) => method,
  });
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
