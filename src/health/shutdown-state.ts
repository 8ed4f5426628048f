import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';

/** Readiness turns down as soon as shutdown begins, so load balancers stop sending traffic. */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  private shuttingDown = false;

  constructor(private readonly indicators: HealthIndicatorService) {}

  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }

  check() {
    const indicator = this.indicators.check('lifecycle');
    return this.shuttingDown ? indicator.down({ reason: 'shutting down' }) : indicator.up();
  }
}
