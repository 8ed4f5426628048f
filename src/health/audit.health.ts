import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AuditService } from '../audit/audit.service';

const PING_TIMEOUT_MS = 1_000;

/** Changes are refused while the audit store cannot take records (fail closed), so readiness follows it. */
@Injectable()
export class AuditHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly audit: AuditService,
  ) {}

  async check(key = 'audit') {
    const indicator = this.indicators.check(key);
    try {
      await Promise.race([
        this.audit.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS).unref()),
      ]);
      return indicator.up();
    } catch (error) {
      return indicator.down({ reason: (error as Error).message });
    }
  }
}
