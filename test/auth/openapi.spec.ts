import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { addSecuritySchemes, API_KEY_SCHEME, BEARER_SCHEME, SDK_SIGNATURE_SCHEME } from '../../src/auth/authenticated.decorator';
import { createAuthTestApp } from './support/auth-test-app';

describe('OpenAPI security', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await createAuthTestApp({ auth: { developmentKey: true } });
  });

  afterAll(async () => {
    await app.close();
  });

  it('declares the three schemes and lists any one on decorated routes only', () => {
    const document = SwaggerModule.createDocument(app, addSecuritySchemes(new DocumentBuilder()).build());
    expect(document.components?.securitySchemes).toEqual({
      [BEARER_SCHEME]: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
      [API_KEY_SCHEME]: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Api-Key' }),
      [SDK_SIGNATURE_SCHEME]: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'Authorization' }),
    });
    const either = [{ [BEARER_SCHEME]: [] }, { [API_KEY_SCHEME]: [] }, { [SDK_SIGNATURE_SCHEME]: [] }];
    expect(document.paths['/v2/{project_id}/thing'].get?.security).toEqual(expect.arrayContaining(either));
    expect(document.paths['/v2/{project_id}/thing'].put?.security).toHaveLength(3);
    expect(document.paths['/public'].get?.security).toBeUndefined();
  });
});
