/** One field-level problem. */
export class FieldErrorDto {
  /** Path of the offending input, e.g. `callback[1].topic_urn` or `project_id`. */
  field!: string;
  /** What is wrong with it. */
  message!: string;
}

/** What the upstream said, when the error came from SMN. */
export class UpstreamErrorDto {
  /** HTTP status SMN answered with. */
  status!: number;
  /** SMN's (or its gateway's) error code, e.g. `SMN.0141` or `APIGW.0301`. */
  code?: string;
  /** SMN's request id, for support cases with Huawei Cloud. */
  request_id?: string;
}

/** The error body of every failed request, shaped like SMN's own. */
export class ErrorEnvelopeDto {
  /**
   * SMN's request id when SMN answered, else this service's correlation id (also in `X-Request-Id`).
   * @example 6a63a18b8bab40ffb71ebd9cb80d0085
   */
  request_id!: string;
  /**
   * Stable error code: `BFF.*`, or SMN's `SMN.*` passed through.
   * @example BFF.VALIDATION_FAILED
   */
  code!: string;
  /**
   * Human-readable explanation.
   * @example The request is invalid.
   */
  message!: string;
  /** Field-level problems, for validation errors. */
  errors?: FieldErrorDto[];
  /** The upstream's answer, for errors that came from SMN. */
  upstream?: UpstreamErrorDto;
}
