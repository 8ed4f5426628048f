import { createServer } from 'node:net';
import { StartupError } from './startup-error';

export interface PortReservation {
  /** Frees the port for the server, just before it listens. */
  release(): Promise<void>;
}

/**
 * Holds the configured port from the first moment of the start, so that a port in use is refused within
 * milliseconds instead of after the emulator, the store and its migrations (which take seconds) are up.
 * Port 0 (any free port) cannot be in use: nothing is held.
 */
export async function reservePort(http: { host: string; port: number }): Promise<PortReservation> {
  if (http.port === 0) return { release: () => Promise.resolve() };
  // A client that connects meanwhile (a readiness probe) is hung up on: close() waits for open connections,
  // and a keep-alive probe would otherwise hold the start forever.
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenFailure(error, http) ?? error));
    server.listen({ host: http.host, port: http.port, exclusive: true }, resolve);
  });
  return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A listen error the operator can fix, as one line (StartupError); undefined for anything else. */
export function listenFailure(error: unknown, http: { host: string; port: number }): StartupError | undefined {
  const at = `${http.host}:${http.port}`;
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new StartupError(`Port ${http.port} on ${http.host} is already in use (PORT, HOST): stop the process that holds ${at}, or choose another port.`, {
        cause: error,
      });
    case 'EACCES':
      return new StartupError(`Listening on ${at} is not permitted for this user (PORT): choose a port above 1023.`, { cause: error });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new StartupError(`HOST ${http.host} is not an address of this machine: use 127.0.0.1, 0.0.0.0 or one of its own addresses.`, { cause: error });
    default:
      return undefined;
  }
}
