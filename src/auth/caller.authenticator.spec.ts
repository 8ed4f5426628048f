import type { FastifyRequest } from 'fastify';
import { AccessKeyAuthenticator } from './access-key.authenticator';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { AuthDeniedError } from './auth.errors';
import { CallerAuthenticator, MAX_TOKEN_LENGTH } from './caller.authenticator';
import type { JwtAuthenticator } from './jwt.authenticator';

describe('CallerAuthenticator', () => {
  const jwt = { authenticate: jest.fn() };
  const authenticator = new CallerAuthenticator(jwt as unknown as JwtAuthenticator, new ApiKeyAuthenticator([], false), new AccessKeyAuthenticator([]));
  const requestWith = (headers: Record<string, string>) => ({ headers, query: {} }) as unknown as FastifyRequest;

  it('refuses a 16 KiB token without parsing it', async () => {
    const error = await authenticator.authenticate(requestWith({ authorization: `Bearer ${'A'.repeat(16 * 1024)}` })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthDeniedError);
    expect(error).toMatchObject({ status: 401, reason: 'token_too_large' });
    expect(jwt.authenticate).not.toHaveBeenCalled();
  });

  it('hands a token of exactly the limit to the JWT verifier', async () => {
    jwt.authenticate.mockResolvedValueOnce({ kind: 'jwt', subject: 'alice', scopes: new Set(), projects: '*' });
    await authenticator.authenticate(requestWith({ authorization: `bearer ${'A'.repeat(MAX_TOKEN_LENGTH)}` }));
    expect(jwt.authenticate).toHaveBeenCalledWith('A'.repeat(MAX_TOKEN_LENGTH));
  });
});
