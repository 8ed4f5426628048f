import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { UpstreamResilience } from '../smn/upstream-resilience';

/**
 * Ready when at least one project has an endpoint. Open circuits are reported, not counted against
 * readiness (docs/adr/0007-readiness-and-open-circuits.md): an SMN outage is shared by every instance, so
 * taking them all out of the balancer would only swap our 503 with `Retry-After` for the balancer's own
 * error, and a breaker that half-opens on the next call would never see one.
 */
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
    if (projects === 0) return indicator.down({ reason: 'no SMN project configured' });
    const circuits = this.resilience.circuitStates().filter((c) => c.state !== 'closed');
    return indicator.up({ projects, ...(circuits.length ? { circuits } : {}) });
  }
}
