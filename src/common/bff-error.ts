import { BffErrorCode } from './error-codes';

/** One field-level problem in a rejected request. */
export interface FieldError {
  field: string;
  message: string;
}

/** What the upstream said, when the error came from it. */
export interface UpstreamInfo {
  status: number;
  code?: string;
  request_id?: string;
}

export interface BffErrorOptions {
  errors?: FieldError[];
  upstream?: UpstreamInfo;
  /** Extra response headers, e.g. `Retry-After` or `WWW-Authenticate`. */
  headers?: Record<string, string>;
  cause?: unknown;
  /**
   * The request may have taken effect although it failed: it reached a system that could have applied it
   * and no well-formed answer came back (a timeout, a reset, an unreadable body, a 5xx).
   */
  outcomeUnknown?: boolean;
}

/**
 * The one error type that the global filter turns into the envelope. Anything else that reaches the
 * filter is mapped by it (Nest/Fastify errors) or becomes a bare 500.
 */
export class BffError extends Error {
  readonly errors?: FieldError[];
  readonly upstream?: UpstreamInfo;
  readonly headers?: Record<string, string>;
  readonly outcomeUnknown: boolean;

  constructor(
    readonly status: number,
    /** `BFF.*`, or an upstream `SMN.*` code passed through. */
    readonly code: BffErrorCode | string,
    message: string,
    options: BffErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'BffError';
    this.errors = options.errors;
    this.upstream = options.upstream;
    this.headers = options.headers;
    this.outcomeUnknown = options.outcomeUnknown ?? false;
  }
}
