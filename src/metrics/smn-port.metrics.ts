import { SmnCallOptions, SmnPort, SmnWriteResult, SmsCallback, SmsCallbackList, SmsEventType } from '../smn/smn.port';
import { MetricsService } from './metrics.service';

/** Upstream metrics by wrapping the port (house style #9), not by timers inside the adapter. */
export class MeteredSmnPort extends SmnPort {
  constructor(
    private readonly inner: SmnPort,
    private readonly metrics: MetricsService,
  ) {
    super();
  }

  listSmsCallbacks(projectId: string, eventType?: SmsEventType, options?: SmnCallOptions): Promise<SmsCallbackList> {
    return this.metrics.time(this.metrics.upstreamDuration, { operation: 'listSmsCallbacks' }, () =>
      this.inner.listSmsCallbacks(projectId, eventType, options),
    );
  }

  updateSmsCallbacks(projectId: string, callbacks: SmsCallback[], options?: SmnCallOptions): Promise<SmnWriteResult> {
    return this.metrics.time(this.metrics.upstreamDuration, { operation: 'updateSmsCallbacks' }, () =>
      this.inner.updateSmsCallbacks(projectId, callbacks, options),
    );
  }
}
