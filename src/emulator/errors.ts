/**
 * The two error shapes the real service answers with: SMN's own `{request_id, code, message}` and the
 * API gateway's (APIG) `{error_msg, error_code, request_id}` that sits in front of it
 * (its `APIGW.*` codes). Messages are the published ones, verbatim, where one is published.
 */

export interface SmnError {
  code: string;
  message: string;
}

export interface SmnErrorBody {
  request_id: string;
  code: string;
  message: string;
}

export interface ApigErrorBody {
  error_msg: string;
  error_code: string;
  request_id: string;
}

export const SMN = {
  invalidEventType: { code: 'SMN.0100', message: 'The eventType parameter is invalid.' },
  failUrnInvalid: {
    code: 'SMN.0140',
    message: 'The topic URN configured for the message sending failure event is invalid.',
  },
  failTopicMissing: {
    code: 'SMN.0141',
    message: 'The topic configured for the message sending failure event does not exist.',
  },
  successUrnInvalid: {
    code: 'SMN.0142',
    message: 'The topic URN configured for the message sending success event is invalid.',
  },
  successTopicMissing: {
    code: 'SMN.0143',
    message: 'The topic configured for the message sending success event does not exist.',
  },
  replyUrnInvalid: {
    code: 'SMN.0144',
    message: 'The topic URN configured for the response message event is invalid.',
  },
  replyTopicMissing: {
    code: 'SMN.0145',
    message: 'The topic configured for the response message event does not exist.',
  },
  noPermission: { code: 'SMN.0001', message: 'No permission to request resources.' },
  topicNotFound: { code: 'SMN.0006', message: 'Topic not found.' },
  internal: { code: 'SMN.0018', message: 'Service internal error.' },
  /**
   * SMN publishes no code for a body that is not JSON or has no `callback` list, so the emulator
   * answers with a code of its own that no real SMN code can collide with (four digits, far above
   * the published range), instead of bending a documented code such as SMN.0005 ("TopicUrn is
   * invalid") to a different meaning.
   */
  invalidBody: { code: 'SMN.9999', message: 'The request body is invalid.' },
} as const satisfies Record<string, SmnError>;

export const APIG = {
  /** 401: every AK/SK and token failure; the message says which. */
  authFailed: 'APIGW.0301',
  /** 403: the caller is authenticated but may not call this API. */
  forbidden: 'APIGW.0302',
  /** 429, sent with `Retry-After`. */
  throttled: 'APIGW.0308',
  /** 400 and 413 at the gateway. */
  badRequest: 'APIGW.0201',
  /** No such API (unknown path or method). */
  notFound: 'APIGW.0101',
} as const;

export const APIG_AUTH_PREFIX = 'Incorrect IAM authentication information: ';
/** What the gateway answers, with APIGW.0301, for a request signed with a locked access key. */
export const APIG_AK_LOCKED_MESSAGE = `${APIG_AUTH_PREFIX}AK access failed to reach the limit,forbidden.`;
export const APIG_FORBIDDEN_MESSAGE = 'The IAM user is not authorized to access the API.';
export const APIG_THROTTLED_MESSAGE = 'The throttling threshold has been reached: policy user over ratelimit,limit:200,time:5 minute';

export function smnErrorBody(requestId: string, error: SmnError): SmnErrorBody {
  return { request_id: requestId, code: error.code, message: error.message };
}

export function apigErrorBody(requestId: string, code: string, message: string): ApigErrorBody {
  return { error_msg: message, error_code: code, request_id: requestId };
}
