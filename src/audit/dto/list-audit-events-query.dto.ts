import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { AUDIT_OUTCOMES, AuditOutcome } from '../audit.types';

export class ListAuditEventsQueryDto {
  /**
   * Only this project; required unless the caller may see every project.
   * @example f96188c7ccaf4ffba0c9aa149ab2bd57
   */
  @IsOptional()
  @Matches(/^[0-9a-f]{32}$/, { message: 'project_id must be 32 lowercase hex characters' })
  project_id?: string;

  /** Only attempts of this actor (JWT subject or API-key name). */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  actor?: string;

  /** Only attempts with this outcome. */
  @IsOptional()
  @IsIn(AUDIT_OUTCOMES)
  outcome?: AuditOutcome;

  // No example: Swagger UI prefills it, and a fixed date would soon filter everything out.
  /** Recorded at or after this instant (ISO 8601). */
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'from must be an ISO 8601 date-time' })
  from?: Date;

  /** Recorded before this instant (ISO 8601). */
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'to must be an ISO 8601 date-time' })
  to?: Date;

  /** `next_cursor` of the previous page. */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  cursor?: string;

  /** Page size, 1..200 (default 50). */
  @ApiPropertyOptional({ type: 'integer', default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}
