/**
 * What a browser frontend on another origin does with the generated client (clients/typescript), bundled
 * for the page by the browser test. It runs in Chromium: everything here goes through fetch, CORS and the
 * headers the BFF exposes, exactly as in a real frontend.
 */
import { createSmsCallbackClient, type SmsCallback } from '../../../clients/typescript/src/index';

export interface ScenarioInput {
  bffUrl: string;
  apiKey: string;
  projectId: string;
  callbacks: SmsCallback[];
}

export interface ScenarioResult {
  read: { status: number; etag: string | null; requestId: string | null; callbacks: number };
  write: { status: number; etag: string | null; requestId: string | null };
  stale: { status: number; code?: string };
  invalid: { status: number; code?: string; fields: string[] };
}

async function scenario({ bffUrl, apiKey, projectId, callbacks }: ScenarioInput): Promise<ScenarioResult> {
  const client = createSmsCallbackClient(bffUrl, { apiKey });
  const path = '/v2/{project_id}/notifications/sms/callback' as const;
  const params = { path: { project_id: projectId } };

  const read = await client.GET(path, { params });
  const etag = read.response.headers.get('etag');
  const write = await client.PUT(path, { params: { ...params, header: { 'If-Match': etag ?? '' } }, body: { callback: callbacks } });
  // The tag read before the write no longer matches.
  const stale = await client.PUT(path, { params: { ...params, header: { 'If-Match': etag ?? '' } }, body: { callback: callbacks } });
  const invalid = await client.PUT(path, { params, body: { callback: [] } });

  return {
    read: { status: read.response.status, etag, requestId: read.response.headers.get('x-request-id'), callbacks: read.data?.callback.length ?? -1 },
    write: { status: write.response.status, etag: write.response.headers.get('etag'), requestId: write.response.headers.get('x-request-id') },
    stale: { status: stale.response.status, code: stale.error?.code },
    invalid: { status: invalid.response.status, code: invalid.error?.code, fields: (invalid.error?.errors ?? []).map((e) => e.field) },
  };
}

(globalThis as unknown as { smsCallbackScenario: typeof scenario }).smsCallbackScenario = scenario;
