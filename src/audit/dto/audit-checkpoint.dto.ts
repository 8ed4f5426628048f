import { ApiProperty } from '@nestjs/swagger';

/**
 * A signed checkpoint of the chain head. Save it outside the database: `npm run audit:verify -- --checkpoint FILE`
 * then proves that the chain still contains this record, i.e. that nothing was cut off the end since.
 */
export class AuditCheckpointDto {
  /**
   * Always `sms-callback-bff/audit-checkpoint/v1`.
   * @example sms-callback-bff/audit-checkpoint/v1
   */
  format!: string;
  /** Sequence number of the last record at signing time (0 for an empty chain). */
  @ApiProperty({ type: 'integer', minimum: 0 })
  seq!: number;
  /** Chain hash of that record (SHA-256, hex). */
  hash!: string;
  /** When the checkpoint was signed (ISO-8601). */
  @ApiProperty({ format: 'date-time' })
  time!: string;
  /** Ed25519 signature (base64) of `sms-callback-bff audit checkpoint v1\n<seq>\n<hash>\n<time>`, verifiable with the service's public key. */
  signature!: string;
}
