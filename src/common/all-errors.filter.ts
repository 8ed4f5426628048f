import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorReply } from './error-envelope';
import { REQUEST_ID_HEADER } from './request-id';

/**
 * Every error leaves through here as the one envelope: Nest routes Fastify's own errors (body too large,
 * bad JSON, wrong media type) through global filters too.
 */
@Catch()
export class AllErrorsFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const { status, headers, body } = toErrorReply(error, request.id);
    if (status >= 500) request.log.error({ err: error, code: body.code }, 'request failed');
    request.errorCode = body.code;
    // The id header here too: an error raised by a hook that runs before the one that sets it (Nest's CORS
    // hook) must carry it as well.
    void http
      .getResponse<FastifyReply>()
      .status(status)
      .headers({ ...headers, [REQUEST_ID_HEADER]: request.id })
      .type('application/json; charset=utf-8')
      .send(body);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The envelope code of a failed request, for the access log and metrics. */
    errorCode?: string;
  }
}
