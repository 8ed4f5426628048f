import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** One check of a report: `up` or `down`, with what the indicator adds (a reason, the open endpoints, …). */
const INDICATORS: SchemaObject = {
  type: 'object',
  description: 'Checks by name (`lifecycle`, `audit`, `smn`).',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'down'] }, reason: { type: 'string' } },
    additionalProperties: true,
  },
};

/**
 * A terminus health report, as `/health/live` and `/health/ready` answer it (not the error envelope: load
 * balancers and orchestrators read these). `info` holds the checks that passed, `error` those that failed,
 * `details` all of them.
 */
export function healthReportSchema(status: 'ok' | 'error'): SchemaObject {
  const example =
    status === 'ok'
      ? { lifecycle: { status: 'up' }, audit: { status: 'up' }, smn: { status: 'up', projects: 1 } }
      : {
          lifecycle: { status: 'up' },
          audit: { status: 'up' },
          smn: { status: 'down', reason: 'circuit open', endpoints: ['https://smn.cn-north-4.myhuaweicloud.com'] },
        };
  const [info, error] = status === 'ok' ? [example, {}] : [{ lifecycle: example.lifecycle, audit: example.audit }, { smn: example.smn }];
  return {
    type: 'object',
    required: ['status', 'info', 'error', 'details'],
    properties: {
      status: { type: 'string', enum: [status] },
      info: INDICATORS,
      error: INDICATORS,
      details: INDICATORS,
    },
    example: { status, info, error, details: example },
  };
}
