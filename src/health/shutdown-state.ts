import { BeforeApplicationShutdown, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { FastifyInstance } from 'fastify';

/**
 * Shutdown, as clients and load balancers see it: readiness turns down as soon as it begins, and answers
 * sent from then on close their keep-alive connection — otherwise a connection that was busy when the
 * signal came would stay open after its answer and hold the server's close until the grace period ends.
 */
@Injectable()
export class ShutdownState implements OnModuleInit, BeforeApplicationShutdown {
  private shuttingDown = false;

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onSend', (_request, reply, payload, done) => {
      if (this.shuttingDown) void reply.header('connection', 'close');
      done(null, payload);
    });
  }

  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }

  check() {
    const indicator = this.indicators.check('lifecycle');
    return this.shuttingDown ? indicator.down({ reason: 'shutting down' }) : indicator.up();
  }
}
