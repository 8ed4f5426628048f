/** The last checkpoint this instance published: what it covered and when. */
export interface PublishedCheckpoint {
  seq: number;
  /** When it was signed and logged (epoch ms). */
  publishedAtMs: number;
}

/**
 * A read-only view of checkpoint publication, for observers (metrics): they learn when the last checkpoint
 * left with the logs without reaching the publisher, which holds the signing key. The publisher is its only
 * implementation (`AuditModule` provides it under this token).
 */
export abstract class AuditCheckpointStatus {
  /** Undefined until this instance published its first checkpoint. */
  abstract lastPublished(): PublishedCheckpoint | undefined;
}
