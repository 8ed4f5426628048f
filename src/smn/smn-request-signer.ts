import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { SignableRequest, signRequest } from './signing/aksk-signer';

/**
 * Authorises an outgoing SMN request with the BFF's own credentials. AK/SK today; the IAM token mode
 * plugs in here (same method, token header instead of a signature).
 */
@Injectable()
export class SmnRequestSigner {
  constructor(private readonly config: AppConfig) {}

  async sign(request: SignableRequest, _projectId: string): Promise<Record<string, string>> {
    const { accessKey, secretKey, securityToken } = this.config.smn.auth;
    return signRequest(request, { ak: accessKey, sk: secretKey, securityToken });
  }
}
