import type { RunningEmulator } from '../../src/emulator/emulator';
import type { RequestLogEntry } from '../../src/emulator/emulator-state';
import type { FaultSpec } from '../../src/emulator/faults';

/** The emulator's admin API over HTTP, as an operator or a test would use it. */
async function admin(emulator: RunningEmulator, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${emulator.url}/_emulator${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`emulator ${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? undefined : res.json();
}

/** Back to the seed: configuration, request log and faults. */
export async function resetEmulator(emulator: RunningEmulator): Promise<void> {
  await admin(emulator, 'POST', '/reset');
  await admin(emulator, 'DELETE', '/requests');
  await admin(emulator, 'DELETE', '/faults');
}

/** SMN-facing requests the emulator received (/v2 and /v3), oldest first. */
export async function emulatorRequests(emulator: RunningEmulator): Promise<RequestLogEntry[]> {
  const { requests } = (await admin(emulator, 'GET', '/requests')) as { requests: RequestLogEntry[] };
  return [...requests].sort((a, b) => a.seq - b.seq);
}

export async function injectFault(emulator: RunningEmulator, fault: FaultSpec): Promise<void> {
  await admin(emulator, 'POST', '/faults', fault);
}
