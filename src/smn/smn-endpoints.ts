import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';

/** Which regional SMN endpoint serves a project (README, API: projects and regions). */
@Injectable()
export class SmnEndpoints {
  constructor(private readonly config: AppConfig) {}

  /** The configured region of a project, or undefined when the BFF does not serve it. */
  regionOf(projectId: string): string | undefined {
    return this.config.smn.projects.get(projectId);
  }

  baseUrlFor(region: string): string {
    const override = this.config.smn.endpoints.get(region);
    if (override) return override;
    // Published exceptions to the usual host pattern (docs/upstream-smn.md §1).
    if (region === 'cn-north-2') return 'https://smn.cn-north-2.myhuaweicloud.cn';
    if (region === 'eu-west-101') return 'https://smn.eu-west-101.myhuaweicloud.eu';
    return `https://smn.${region}.myhuaweicloud.com`;
  }
}
