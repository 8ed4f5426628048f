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

type Checks = Record<string, { status: 'up' | 'down'; [detail: string]: unknown }>;

/**
 * A terminus health report, as `/health/live` and `/health/ready` answer it (not the error envelope: load
 * balancers and orchestrators read these). `info` holds the checks that passed, `error` those that failed,
 * `details` all of them; `status` is `ok`, `error` when a check failed, `shutting_down` once SIGTERM came.
 */
export function healthReportSchema(statuses: Array<'ok' | 'error' | 'shutting_down'>, details: Checks): SchemaObject {
  const passed = Object.entries(details).filter(([, check]) => check.status === 'up');
  const failed = Object.entries(details).filter(([, check]) => check.status === 'down');
  return {
    type: 'object',
    required: ['status', 'info', 'error', 'details'],
    properties: {
      status: { type: 'string', enum: statuses },
      info: INDICATORS,
      error: INDICATORS,
      details: INDICATORS,
    },
    example: { status: statuses[0], info: Object.fromEntries(passed), error: Object.fromEntries(failed), details },
  };
}

/** Examples of what the readiness checks report. */
export const READY_CHECKS: Checks = { lifecycle: { status: 'up' }, audit: { status: 'up' }, smn: { status: 'up', projects: 1 } };
export const CIRCUIT_OPEN_CHECKS: Checks = {
  ...READY_CHECKS,
  smn: { status: 'down', reason: 'circuit open', endpoints: ['https://smn.cn-north-4.myhuaweicloud.com'] },
};
