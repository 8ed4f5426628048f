import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { AppConfig } from '../config/app-config';

/** Keep-alive connection pools to the SMN endpoints, closed on shutdown. */
@Injectable()
export class UpstreamAgents implements OnApplicationShutdown {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;

  constructor(config: AppConfig) {
    const options = { keepAlive: true, maxSockets: config.smn.upstream.maxSockets, scheduling: 'lifo' as const };
    this.http = new HttpAgent(options);
    this.https = new HttpsAgent(options);
  }

  onApplicationShutdown(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
