import { AuditStore } from '../audit/audit.store';
import type { AuditIntent, AuditPage, AuditQuery, AuditRecord, NewAuditRecord } from '../audit/audit.types';
import type { AuditSigner } from '../audit/audit-chain';
import type { ProjectLock } from '../audit/project-locks';
import { MetricsService } from './metrics.service';

/** Audit write duration and failures by wrapping the store port (house style #9). */
export class MeteredAuditStore extends AuditStore {
  constructor(
    private readonly inner: AuditStore,
    private readonly metrics: MetricsService,
  ) {
    super();
  }

  writeIntent(intent: AuditIntent): Promise<void> {
    return this.timed('writeIntent', () => this.inner.writeIntent(intent));
  }

  finalize(intentId: string | null, record: NewAuditRecord, signer: AuditSigner): Promise<AuditRecord> {
    return this.timed('finalize', () => this.inner.finalize(intentId, record, signer));
  }

  finalizeStaleIntents(rule: { olderThanMs: number }, signer: AuditSigner): Promise<AuditRecord[]> {
    return this.timed('finalizeStaleIntents', () => this.inner.finalizeStaleIntents(rule, signer));
  }

  renewLease(instanceId: string, ttlMs: number): Promise<void> {
    return this.timed('renewLease', () => this.inner.renewLease(instanceId, ttlMs));
  }

  dropLease(instanceId: string): Promise<void> {
    return this.inner.dropLease(instanceId);
  }

  migrate(): Promise<void> {
    return this.inner.migrate();
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  lockProject(projectId: string, waitMs: number): Promise<ProjectLock> {
    return this.inner.lockProject(projectId, waitMs);
  }
  query(query: AuditQuery): Promise<AuditPage> {
    return this.inner.query(query);
  }
  readChain(batchSize?: number): AsyncIterable<AuditRecord> {
    return this.inner.readChain(batchSize);
  }
  readHead(): Promise<{ seq: number; hash: string }> {
    return this.inner.readHead();
  }
  intentBacklog(): Promise<{ pending: number; oldestAgeMs: number | null }> {
    return this.inner.intentBacklog();
  }

  private async timed<T>(operation: string, write: () => Promise<T>): Promise<T> {
    const end = this.metrics.auditWriteDuration.startTimer({ operation });
    try {
      return await write();
    } catch (error) {
      this.metrics.auditWriteFailures.inc({ operation });
      throw error;
    } finally {
      end();
    }
  }
}
