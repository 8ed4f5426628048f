import * as net from 'node:net';

/**
 * A TCP proxy that sits between the code under test and a real server (PostgreSQL, Redis) and injects
 * network faults on demand: a cut (connections reset) or a blackhole (bytes stop moving, nothing is lost).
 */
export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  /** The same postgres:// or redis:// URL with host:port replaced by the proxy's. Query string kept. */
  via(url: string): string;
  /** Every open connection is reset (TCP RST to both sides) and every new one is reset at once, until restore(). */
  cut(): void;
  /**
   * Like packets being dropped on a live network: bytes stop being forwarded in either direction on open and new
   * connections. Sockets are paused, not drained, so after restore() the buffered bytes flow again, as TCP
   * retransmission would deliver them. New connections are accepted; their upstream connect waits for restore().
   */
  blackhole(): void;
  /** Back to forwarding; paused connections resume. */
  restore(): void;
  /** Currently open client connections. */
  readonly openConnections: number;
  /** Resolves once `n` client connections have been accepted in total since start (wait on events, not sleeps). */
  waitForConnections(n: number, timeoutMs?: number): Promise<void>;
  /** Destroys all sockets and closes the server; idempotent. */
  close(): Promise<void>;
}

type Mode = 'forward' | 'cut' | 'blackhole';

/** One proxied connection; `upstream` is unset while a blackhole holds back the connect. */
interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
}

interface Waiter {
  n: number;
  resolve(): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const DEFAULT_PORTS: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379, 'rediss:': 6379 };

function parseTarget(target: { host: string; port: number } | string): { host: string; port: number } {
  if (typeof target !== 'string') return target;
  const url = new URL(target);
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol];
  if (!url.hostname || !port) throw new Error(`fault proxy: no host and port in ${url.protocol}// URL`);
  // IPv6 hostnames come back bracketed ("[::1]"); net.connect wants them bare.
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/** RST where there is a connection to reset; a socket still connecting has nothing to reset, so just drop it. */
function reset(socket: net.Socket | undefined): void {
  if (!socket || socket.destroyed) return;
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

class TcpFaultProxy implements FaultProxy {
  readonly host = '127.0.0.1';
  /** Kept from listen(): server.address() is null once closed. */
  readonly port: number;
  private mode: Mode = 'forward';
  private accepted = 0;
  private readonly pairs = new Set<Pair>();
  /** Every socket on either side, so close() can leave nothing behind (an upstream may outlive its client). */
  private readonly sockets = new Set<net.Socket>();
  private readonly waiters = new Set<Waiter>();
  private closing?: Promise<void>;

  constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number },
  ) {
    this.port = (server.address() as net.AddressInfo).port;
    server.on('connection', (client) => this.accept(client));
    // Errors after listen() (e.g. EMFILE on accept) must not surface as unhandled 'error' events in jest.
    server.on('error', () => undefined);
  }

  get openConnections(): number {
    return this.pairs.size;
  }

  via(url: string): string {
    const parsed = new URL(url);
    parsed.host = `${this.host}:${this.port}`;
    return parsed.toString();
  }

  cut(): void {
    this.mode = 'cut';
    for (const pair of this.pairs) this.drop(pair);
  }

  blackhole(): void {
    this.mode = 'blackhole';
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream?.pause();
    }
  }

  restore(): void {
    this.mode = 'forward';
    for (const pair of this.pairs) {
      if (!pair.upstream) this.connectUpstream(pair);
      // Forwarding re-pauses a side on its own if the other side is still backpressured.
      pair.client.resume();
      pair.upstream?.resume();
    }
  }

  waitForConnections(n: number, timeoutMs = 5000): Promise<void> {
    if (this.accepted >= n) return Promise.resolve();
    if (this.closing) return Promise.reject(new Error('fault proxy is closed'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        n,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`fault proxy: ${this.accepted} of ${n} connections accepted after ${timeoutMs} ms`));
        }, timeoutMs).unref(),
      };
      this.waiters.add(waiter);
    });
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const waiter of this.waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error('fault proxy is closed'));
      }
      this.waiters.clear();
      // server.close() only calls back once every accepted socket is gone, so destroy them all first.
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
      this.pairs.clear();
    });
    return this.closing;
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.closing) return void client.destroy();
    this.accepted += 1;
    for (const waiter of this.waiters) {
      if (this.accepted < waiter.n) continue;
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve();
    }
    if (this.mode === 'cut') return void client.resetAndDestroy();

    const pair: Pair = { client };
    this.pairs.add(pair);
    client.on('close', () => this.pairs.delete(pair));
    // Held back: the client's bytes stay in its socket buffer until restore() connects upstream.
    if (this.mode === 'blackhole') client.pause();
    else this.connectUpstream(pair);
  }

  private connectUpstream(pair: Pair): void {
    const upstream = net.connect(this.target);
    this.track(upstream);
    pair.upstream = upstream;
    this.pipe(pair.client, upstream);
    this.pipe(upstream, pair.client);
  }

  /**
   * One direction of forwarding. Hand-rolled rather than stream.pipe(), whose 'drain' handler would resume a
   * socket the blackhole paused.
   */
  private pipe(from: net.Socket, to: net.Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (this.mode === 'forward') from.resume();
    });
    from.on('end', () => to.end());
    // A reset or error on one side is passed on as a reset; a clean close lets the other side flush and close.
    from.on('close', (hadError) => {
      if (hadError) reset(to);
      else if (!to.destroyed) to.end();
    });
  }

  private drop(pair: Pair): void {
    reset(pair.client);
    reset(pair.upstream);
    this.pairs.delete(pair);
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    // The close that follows tells the other side; the error itself is expected under fault injection.
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

export async function startFaultProxy(target: { host: string; port: number } | string): Promise<FaultProxy> {
  const upstream = parseTarget(target);
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return new TcpFaultProxy(server, upstream);
}
