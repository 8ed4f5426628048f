import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRICS_LISTENER, listenFailure } from '../common/port-reservation';
import { AppConfig } from '../config/app-config';
import { MetricsService } from './metrics.service';

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * `GET /metrics` on a listener of its own (METRICS_PORT, METRICS_HOST), never on the public port: metrics name
 * routes, instances and failure counts, which are for the scraper, not for callers, and a balancer in front of
 * the public port would mix the replicas' series. Plain node:http: one route, no guards, no envelope, no
 * access log, so a scrape every few seconds costs next to nothing. Listens once the app is built (every
 * module initialised), closes last on shutdown, so that the drain stays observable.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;

  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  /** Where the metrics are scraped (`http://host:port/metrics`); undefined when off or not listening. */
  get url(): string | undefined {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) return undefined;
    // A wildcard address is no address to connect to: the loopback one of its family, as Nest's getUrl() does.
    const ip = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
    const host = address.family === 'IPv6' ? `[${ip}]` : ip;
    return `http://${host}:${address.port}/metrics`;
  }

  async onApplicationBootstrap(): Promise<void> {
    const listener = this.config.http.metrics;
    if (!listener) return;
    const server = createServer((request, response) => void this.answer(request, response));
    // A scraper answers within seconds; a connection that sends nothing is not kept.
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(listenFailure(error, listener, METRICS_LISTENER) ?? error));
      server.listen({ host: listener.host, port: listener.port, exclusive: true }, resolve);
    });
    this.server = server;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // A scraper's kept-alive connection would hold close() until it times out.
    server.closeAllConnections();
    await closed;
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics')
      return void response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: metrics are at GET /metrics\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return void response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method not allowed\n');
    }
    try {
      const text = await this.metrics.registry.metrics();
      response.writeHead(200, { 'content-type': PROMETHEUS_TEXT });
      response.end(request.method === 'HEAD' ? undefined : text);
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics could not be collected: ${(error as Error).message}\n`);
    }
  }
}
