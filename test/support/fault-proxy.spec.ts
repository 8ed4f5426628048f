import { once } from 'node:events';
import * as net from 'node:net';
import { Client } from 'pg';
import { FaultProxy, startFaultProxy } from './fault-proxy';

/**
 * Asserts "not answered yet": the one place a timer is fine, since there is no event for something that has not
 * happened. Returns true if `promise` is still unsettled after `ms`.
 */
async function stillPending(promise: Promise<unknown>, ms = 300): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  const settled = promise.then(
    () => 'settled' as const,
    () => 'settled' as const,
  );
  try {
    return (await Promise.race([settled, elapsed])) === 'pending';
  } finally {
    clearTimeout(timer);
  }
}

describe('fault proxy (TCP echo server)', () => {
  let echo: net.Server;
  const echoSockets = new Set<net.Socket>();
  let proxy: FaultProxy;
  const sockets: net.Socket[] = [];

  /** A client socket through the proxy; its errors are asserted on, never left unhandled. */
  function connect(): net.Socket {
    const socket = net.connect(proxy.port, proxy.host);
    socket.on('error', () => undefined);
    sockets.push(socket);
    return socket;
  }

  /** Reads until `expected` has arrived (TCP may split it). */
  async function receive(socket: net.Socket, expected: string): Promise<string> {
    let got = '';
    while (got.length < expected.length) got += String((await once(socket, 'data'))[0]);
    return got;
  }

  beforeAll(async () => {
    echo = net.createServer((socket) => {
      echoSockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => echoSockets.delete(socket));
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const socket of echoSockets) socket.destroy();
    await new Promise((resolve) => echo.close(resolve));
  });

  beforeEach(async () => {
    proxy = await startFaultProxy({ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await proxy.close();
  });

  it('forwards bytes and rewrites URLs to point at itself', async () => {
    const socket = connect();
    socket.write('ping');
    expect(await receive(socket, 'ping')).toBe('ping');
    await proxy.waitForConnections(1);
    expect(proxy.openConnections).toBe(1);

    const at = `${proxy.host}:${proxy.port}`;
    expect(proxy.via('postgres://user:p%40ss@db.internal:5432/app?sslmode=disable')).toBe(`postgres://user:p%40ss@${at}/app?sslmode=disable`);
    expect(proxy.via('redis://cache:6379/2')).toBe(`redis://${at}/2`);
  });

  it('blackhole holds bytes on open and new connections; restore delivers them', async () => {
    const open = connect();
    open.write('a');
    await receive(open, 'a');

    proxy.blackhole();
    open.write('held');
    const late = connect();
    late.write('late');
    await proxy.waitForConnections(2);
    const answers = Promise.all([receive(open, 'held'), receive(late, 'late')]);
    expect(await stillPending(answers)).toBe(true);

    proxy.restore();
    expect(await answers).toEqual(['held', 'late']);
  });

  it('cut resets open and new connections until restore', async () => {
    const open = connect();
    open.write('a');
    await receive(open, 'a');

    const openReset = once(open, 'error');
    proxy.cut();
    expect((await openReset)[0]).toMatchObject({ code: 'ECONNRESET' });

    const refused = connect();
    expect((await once(refused, 'error'))[0]).toMatchObject({ code: 'ECONNRESET' });
    expect(proxy.openConnections).toBe(0);

    proxy.restore();
    const after = connect();
    after.write('b');
    expect(await receive(after, 'b')).toBe('b');
  });

  it('close destroys both sides and stops listening; twice is fine', async () => {
    const socket = connect();
    socket.write('a');
    await receive(socket, 'a');
    expect(echoSockets.size).toBe(1);
    const upstreamClosed = once([...echoSockets][0], 'close');
    const clientClosed = once(socket, 'close');

    await proxy.close();
    await Promise.all([upstreamClosed, clientClosed]);
    expect(proxy.openConnections).toBe(0);
    expect(echoSockets.size).toBe(0);
    expect((await once(connect(), 'error'))[0]).toMatchObject({ code: 'ECONNREFUSED' });
    await expect(proxy.close()).resolves.toBeUndefined();
  });
});

const databaseUrl = process.env.TEST_DATABASE_URL;
const postgresOnly = databaseUrl ? describe : describe.skip;

postgresOnly('fault proxy (PostgreSQL)', () => {
  let proxy: FaultProxy;
  const clients: Client[] = [];

  /** A pg client through the proxy. pg emits 'error' on a dead connection; the tests expect that. */
  function pgClient(): Client {
    const client = new Client({ connectionString: proxy.via(databaseUrl as string) });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  }

  beforeEach(async () => {
    proxy = await startFaultProxy(databaseUrl as string);
  });

  afterEach(async () => {
    // Closing the proxy first ends every connection, so client.end() cannot wait on a blackholed socket.
    await proxy.close();
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
  });

  it('passes queries through', async () => {
    const client = pgClient();
    await client.connect();
    expect((await client.query('select 1::int as one')).rows).toEqual([{ one: 1 }]);
    expect(proxy.openConnections).toBe(1);
  });

  it('cut fails the open client and new connections; after restore a new client works', async () => {
    const client = pgClient();
    await client.connect();
    const clientError = once(client, 'error');

    proxy.cut();
    await expect(client.query('select 1')).rejects.toThrow();
    await clientError;
    await expect(pgClient().connect()).rejects.toThrow();

    proxy.restore();
    const fresh = pgClient();
    await fresh.connect();
    expect((await fresh.query('select 2::int as two')).rows).toEqual([{ two: 2 }]);
  });

  it('blackhole hangs a query (and a new connect); restore completes that very query', async () => {
    const client = pgClient();
    await client.connect();

    proxy.blackhole();
    const query = client.query('select 42::int as answer');
    const late = pgClient();
    const lateConnect = late.connect();
    await proxy.waitForConnections(2);
    expect(await stillPending(Promise.race([query, lateConnect]))).toBe(true);

    proxy.restore();
    expect((await query).rows).toEqual([{ answer: 42 }]);
    await lateConnect;
    expect((await late.query('select 1::int as one')).rows).toEqual([{ one: 1 }]);
  });

  it('close ends the client connections and stops listening', async () => {
    const client = pgClient();
    await client.connect();
    // Not events.once(): pg emits 'error' ("Connection terminated unexpectedly") first, which would reject it.
    const ended = new Promise((resolve) => client.once('end', resolve));

    await proxy.close();
    await ended;
    expect(proxy.openConnections).toBe(0);
    await expect(pgClient().connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
