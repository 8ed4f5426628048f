import { HttpService } from '@nestjs/axios';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { IamTokenProvider } from './iam-token.provider';
import { SignableRequest, createAkSkSigner } from './signing/aksk-signer';
import { IAM_RESILIENCE, UpstreamResilience } from './upstream-resilience';

const TOKEN_HEADER = 'x-auth-token';

/**
 * Authorises outgoing SMN requests with the BFF's own credentials: an `SDK-HMAC-SHA256` signature (AK/SK)
 * or a project-scoped IAM token. Nothing of the caller's credentials is involved.
 */
@Injectable()
export class SmnRequestAuthorizer {
  private readonly authorize: (request: SignableRequest, projectId: string) => Promise<Record<string, string>>;
  private readonly tokens?: IamTokenProvider;

  constructor(config: AppConfig, http: HttpService, @Inject(IAM_RESILIENCE) iamResilience: UpstreamResilience) {
    const auth = config.smn.auth;
    if (auth.mode === 'token') {
      const tokens = new IamTokenProvider(http, auth, config.smn.upstream.attemptTimeoutMs, iamResilience);
      this.tokens = tokens;
      this.authorize = async (_request, projectId) => ({ [TOKEN_HEADER]: await tokens.tokenFor(projectId) });
    } else {
      const sign = createAkSkSigner({ ak: auth.accessKey, sk: auth.secretKey, securityToken: auth.securityToken });
      this.authorize = async (request) => sign(request);
    }
  }

  /** Headers to add to `request` (which must already hold every header that is to be signed). */
  headersFor(request: SignableRequest, projectId: string): Promise<Record<string, string>> {
    return this.authorize(request, projectId);
  }

  /**
   * SMN answered 401 to a request sent with `headers`. In token mode the token is dropped and true says
   * one more try with a fresh token is worthwhile; a refused signature would only be refused again.
   */
  refreshAfterRejection(projectId: string, headers: Record<string, string>): boolean {
    const token = headers[TOKEN_HEADER];
    if (!this.tokens || !token) return false;
    this.tokens.invalidate(projectId, token);
    return true;
  }
}
