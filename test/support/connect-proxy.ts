import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** One CONNECT the proxy received. */
export interface TunnelRequest {
  /** `host:port` asked for. */
  target: string;
  proxyAuthorization?: string;
}

/**
 * A forward proxy on loopback that speaks CONNECT (how undici's ProxyAgent reaches every target), records
 * each tunnel asked for, and opens it only to 127.0.0.1: anything else is answered 502 without a connection.
 */
export interface ConnectProxy {
  readonly url: string;
  readonly tunnels: TunnelRequest[];
  /** Answer every CONNECT with this status instead of opening the tunnel (e.g. 403). */
  refuseWith?: number;
  close(): Promise<void>;
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(405).end('CONNECT only'));
  const proxy: ConnectProxy = {
    url: '',
    tunnels: [],
    async close() {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('connect', (req, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('error', () => undefined);
    const target = req.url ?? '';
    proxy.tunnels.push({ target, proxyAuthorization: req.headers['proxy-authorization'] });
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    if (proxy.refuseWith) return void client.end(`HTTP/1.1 ${proxy.refuseWith} Refused\r\n\r\n`);
    if (host !== '127.0.0.1' || !port) return void client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(proxy, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  return proxy;
}
