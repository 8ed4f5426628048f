import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AuditService } from './audit.service';

const PING_TIMEOUT_MS = 1_000;

/**
 * Changes are refused while the audit store cannot take records (fail closed), so readiness follows it. It
 * lives with the audit so that nothing outside src/audit needs the audit service.
 */
@Injectable()
export class AuditHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly audit: AuditService,
  ) {}

  async check(key = 'audit') {
    const indicator = this.indicators.check(key);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.audit.ping(), timedOut]);
      return indicator.up();
    } catch (error) {
      return indicator.down({ reason: (error as Error).message });
    } finally {
      // Probes come every few seconds: leave no timer behind per probe.
      clearTimeout(timer);
    }
  }
}
