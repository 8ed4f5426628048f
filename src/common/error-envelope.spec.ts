import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  MethodNotAllowedException,
  NotFoundException,
  PayloadTooLargeException,
  PreconditionFailedException,
  ServiceUnavailableException,
  UnauthorizedException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { SmnThrottledError } from '../smn/smn.errors';
import { BffError } from './bff-error';
import { toErrorReply } from './error-envelope';

const REQUEST_ID = 'req-1';
const fastifyError = (code: string, statusCode: number) => Object.assign(new Error(`fastify says ${code}`), { code, statusCode });

describe('toErrorReply', () => {
  describe('BffError', () => {
    it("is written as it is: status, code, message and headers, with this request's id", () => {
      const error = new BffError(412, 'BFF.PRECONDITION_FAILED', 'Changed.', { headers: { etag: '"x"' } });
      expect(toErrorReply(error, REQUEST_ID)).toEqual({
        status: 412,
        headers: { etag: '"x"' },
        body: { request_id: REQUEST_ID, code: 'BFF.PRECONDITION_FAILED', message: 'Changed.' },
      });
    });

    it('carries field errors, and leaves out an empty list', () => {
      const errors = [{ field: 'callback[0].topic_urn', message: 'bad' }];
      expect(toErrorReply(new BffError(400, 'BFF.VALIDATION_FAILED', 'Invalid.', { errors }), REQUEST_ID).body).toEqual({
        request_id: REQUEST_ID,
        code: 'BFF.VALIDATION_FAILED',
        message: 'Invalid.',
        errors,
      });
      expect(toErrorReply(new BffError(400, 'BFF.VALIDATION_FAILED', 'Invalid.', { errors: [] }), REQUEST_ID).body).not.toHaveProperty('errors');
    });

    it("answers with SMN's request id when SMN answered, and keeps what SMN said", () => {
      const upstream = { status: 400, code: 'SMN.0141', request_id: 'smn-id' };
      const reply = toErrorReply(new BffError(400, 'SMN.0141', 'No topic.', { upstream }), REQUEST_ID);
      expect(reply.body).toEqual({ request_id: 'smn-id', code: 'SMN.0141', message: 'No topic.', upstream });
    });

    it("falls back to this request's id when SMN gave none", () => {
      expect(toErrorReply(new BffError(502, 'BFF.UPSTREAM_UNAVAILABLE', 'Down.', { upstream: { status: 503 } }), REQUEST_ID).body.request_id).toBe(REQUEST_ID);
    });

    it('keeps the headers of subclasses (Retry-After) and never exposes the cause', () => {
      const reply = toErrorReply(new SmnThrottledError({ status: 429 }, 2_500), REQUEST_ID);
      expect(reply).toMatchObject({ status: 503, headers: { 'retry-after': '3' }, body: { code: 'BFF.UPSTREAM_THROTTLED' } });
      const withCause = toErrorReply(new BffError(503, 'BFF.AUDIT_UNAVAILABLE', 'Store down.', { cause: new Error('password=x') }), REQUEST_ID);
      expect(JSON.stringify(withCause)).not.toContain('password');
    });
  });

  describe("Fastify's errors", () => {
    it.each([
      ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 413, 'BFF.PAYLOAD_TOO_LARGE', 'The request body exceeds 64 KiB.'],
      ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 415, 'BFF.UNSUPPORTED_MEDIA_TYPE', 'The request body must be JSON (Content-Type: application/json).'],
      ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 400, 'BFF.VALIDATION_FAILED', 'The request body is empty.'],
      ['FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400, 400, 'BFF.VALIDATION_FAILED', 'Content-Length does not match the body.'],
      ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 400, 'BFF.VALIDATION_FAILED', 'The request body is not valid JSON.'],
    ])('%s (%i) → %i %s with a message of its own', (code, statusCode, status, envelopeCode, message) => {
      expect(toErrorReply(fastifyError(code, statusCode), REQUEST_ID)).toEqual({
        status,
        headers: {},
        body: { request_id: REQUEST_ID, code: envelopeCode, message },
      });
    });

    it("is recognised inside the HttpException Nest wraps it in, never with Fastify's wording", () => {
      const wrapped = new HttpException("Body cannot be empty when content-type is set to 'application/json'", 400, {
        cause: Object.assign(fastifyError('FST_ERR_CTP_EMPTY_JSON_BODY', 400), { name: 'FastifyError' }),
      });
      expect(toErrorReply(wrapped, REQUEST_ID).body).toEqual({ request_id: REQUEST_ID, code: 'BFF.VALIDATION_FAILED', message: 'The request body is empty.' });
    });

    it.each([
      ['FST_ERR_BAD_URL', 400, 400, 'BFF.VALIDATION_FAILED', 'The request path is not a valid URL.'],
      ['FST_ERR_MAX_PARAM_LENGTH', 414, 414, 'BFF.URI_TOO_LONG', 'The request path is too long.'],
    ])("the router's %s (%i) → %i %s, without the path Fastify quotes", (code, statusCode, status, envelopeCode, message) => {
      expect(toErrorReply(fastifyError(code, statusCode), REQUEST_ID)).toEqual({
        status,
        headers: {},
        body: { request_id: REQUEST_ID, code: envelopeCode, message },
      });
    });

    it('maps an unlisted Fastify code by its status', () => {
      expect(toErrorReply(fastifyError('FST_ERR_SOMETHING_NEW', 400), REQUEST_ID)).toMatchObject({ status: 400, body: { code: 'BFF.VALIDATION_FAILED' } });
    });
  });

  describe('JSON syntax errors', () => {
    it("with status 400 (the parser's) → 400 without the parser's text", () => {
      const error = Object.assign(new SyntaxError('Unexpected token } in JSON at position 12'), { statusCode: 400 });
      expect(toErrorReply(error, REQUEST_ID)).toEqual({
        status: 400,
        headers: {},
        body: { request_id: REQUEST_ID, code: 'BFF.VALIDATION_FAILED', message: 'The request body is not valid JSON.' },
      });
      expect(toErrorReply(Object.assign(new SyntaxError('x'), { status: 400 }), REQUEST_ID).status).toBe(400);
    });

    it('without a status (a bug parsing something else) → 500', () => {
      expect(toErrorReply(new SyntaxError('Unexpected end of JSON input'), REQUEST_ID)).toMatchObject({ status: 500, body: { code: 'BFF.INTERNAL' } });
    });
  });

  describe('HttpException and its likes', () => {
    it.each<[string, unknown, number, string, string]>([
      ['BadRequestException', new BadRequestException('bad thing'), 400, 'BFF.VALIDATION_FAILED', 'The request is invalid.'],
      ['UnauthorizedException', new UnauthorizedException(), 401, 'BFF.UNAUTHENTICATED', 'Authentication is required.'],
      ['ForbiddenException', new ForbiddenException(), 403, 'BFF.FORBIDDEN', 'The request is not allowed.'],
      ["NotFoundException (Nest's unknown route)", new NotFoundException('Cannot GET /x'), 404, 'BFF.NOT_FOUND', 'No such route.'],
      ['MethodNotAllowedException', new MethodNotAllowedException(), 405, 'BFF.NOT_FOUND', 'No such route.'],
      ['PreconditionFailedException', new PreconditionFailedException(), 412, 'BFF.PRECONDITION_FAILED', 'The precondition failed.'],
      ['PayloadTooLargeException', new PayloadTooLargeException(), 413, 'BFF.PAYLOAD_TOO_LARGE', 'The request body exceeds 64 KiB.'],
      [
        'UnsupportedMediaTypeException',
        new UnsupportedMediaTypeException(),
        415,
        'BFF.UNSUPPORTED_MEDIA_TYPE',
        'The request body must be JSON (Content-Type: application/json).',
      ],
      ['HttpException 429', new HttpException('slow down', 429), 429, 'BFF.RATE_LIMITED', 'Too many requests.'],
      ['{ statusCode: 403 }', { statusCode: 403, message: 'no' }, 403, 'BFF.FORBIDDEN', 'The request is not allowed.'],
      [
        '{ status: 415 } without a message',
        { status: 415 },
        415,
        'BFF.UNSUPPORTED_MEDIA_TYPE',
        'The request body must be JSON (Content-Type: application/json).',
      ],
      ['getStatus() over statusCode', { getStatus: () => 401, statusCode: 500, message: 'who?' }, 401, 'BFF.UNAUTHENTICATED', 'Authentication is required.'],
    ])('%s → the status it names, as the code of that status, with a message of its own', (_, error, status, code, message) => {
      expect(toErrorReply(error, REQUEST_ID)).toEqual({ status, headers: {}, body: { request_id: REQUEST_ID, code, message } });
    });

    it.each<[string, unknown]>([
      ['a 5xx HttpException', new ServiceUnavailableException('db at 10.0.0.5 is down')],
      ['an unmapped 4xx (409)', new HttpException('conflict with row 42', 409)],
      ['a status that is not a number', { status: '404', message: 'x' }],
    ])('%s → a bare 500', (_, error) => {
      expect(toErrorReply(error, REQUEST_ID)).toEqual({
        status: 500,
        headers: {},
        body: { request_id: REQUEST_ID, code: 'BFF.INTERNAL', message: 'An unexpected error occurred.' },
      });
    });
  });

  describe('anything else', () => {
    it.each<[string, unknown]>([
      ['an Error with internals', Object.assign(new Error('connect to postgres://user:secret@db failed'), { stack: 'at /srv/app.js:1' })],
      ['a TypeError', new TypeError('Cannot read properties of undefined')],
      ['a Node system error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
      ['a string', 'boom'],
      ['a number', 42],
      ['null', null],
      ['undefined', undefined],
    ])('%s → 500 BFF.INTERNAL, nothing of it in the reply', (_, error) => {
      const reply = toErrorReply(error, REQUEST_ID);
      expect(reply).toEqual({ status: 500, headers: {}, body: { request_id: REQUEST_ID, code: 'BFF.INTERNAL', message: 'An unexpected error occurred.' } });
      expect(JSON.stringify(reply)).not.toMatch(/secret|srv|ECONNREFUSED|undefined|boom/);
    });
  });
});
