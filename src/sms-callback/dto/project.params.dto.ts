import { Matches } from 'class-validator';

export class ProjectParamsDto {
  /**
   * Huawei Cloud project id: 32 lowercase hex characters.
   * @example f96188c7ccaf4ffba0c9aa149ab2bd57
   */
  @Matches(/^[0-9a-f]{32}$/, { message: 'project_id must be 32 lowercase hex characters' })
  project_id!: string;
}
