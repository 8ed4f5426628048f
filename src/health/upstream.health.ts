import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { UpstreamResilience } from '../smn/upstream-resilience';

/** Ready when at least one project has an endpoint and no regional circuit is open. */
@Injectable()
export class UpstreamHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly config: AppConfig,
    private readonly resilience: UpstreamResilience,
  ) {}

  check(key = 'smn') {
    const indicator = this.indicators.check(key);
    const projects = this.config.smn.projects.size;
    const open = this.resilience
      .circuitStates()
      .filter((c) => c.state === 'open')
      .map((c) => c.endpoint);
    if (projects === 0) return indicator.down({ reason: 'no SMN project configured' });
    if (open.length) return indicator.down({ reason: 'circuit open', endpoints: open });
    return indicator.up({ projects });
  }
}
