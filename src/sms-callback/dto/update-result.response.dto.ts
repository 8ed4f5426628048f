/** UpdateSmsEvent answer. */
export class UpdateResultDto {
  /**
   * SMN's request id.
   * @example aad0860d089c482b943971f802a6718e
   */
  request_id!: string;
}
