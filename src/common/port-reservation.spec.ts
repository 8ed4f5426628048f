import { connect, createServer, Socket } from 'node:net';
import { reservePort } from './port-reservation';
import { StartupError } from './startup-error';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('reservePort', () => {
  it('is released while a prober holds a connection open (the start must not wait for it to give up)', async () => {
    const http = { host: '127.0.0.1', port: await freePort() };
    const reservation = await reservePort(http);
    // A health checker that connects during the start and then waits for an answer that never comes.
    const prober: Socket = connect(http.port, http.host);
    const closed = new Promise<void>((resolve) => prober.once('close', () => resolve()));
    prober.on('error', () => undefined);
    await closed;
    await reservation.release();
    // The port is free for the real server.
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(http.port, http.host, resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('refuses a port in use with one line that names PORT and HOST', async () => {
    const http = { host: '127.0.0.1', port: await freePort() };
    const holder = await reservePort(http);
    try {
      const error = await reservePort(http).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StartupError);
      expect((error as Error).message).toMatch(/already in use \(PORT, HOST\)/);
    } finally {
      await holder.release();
    }
  });
});
