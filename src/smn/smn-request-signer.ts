import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AkSkSigner, SignableRequest, createAkSkSigner } from './signing/aksk-signer';

/**
 * Authorises an outgoing SMN request with the BFF's own credentials. AK/SK today; the IAM token mode
 * plugs in here (same method, token header instead of a signature).
 */
@Injectable()
export class SmnRequestSigner {
  private readonly akSk: AkSkSigner;

  constructor(config: AppConfig) {
    const { accessKey, secretKey, securityToken } = config.smn.auth;
    this.akSk = createAkSkSigner({ ak: accessKey, sk: secretKey, securityToken });
  }

  async sign(request: SignableRequest, _projectId: string): Promise<Record<string, string>> {
    return this.akSk(request);
  }
}
