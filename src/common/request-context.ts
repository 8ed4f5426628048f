import { AsyncLocalStorage } from 'node:async_hooks';

/** Per-request facts that code deep in the call (the upstream adapter) needs without threading them through. */
export interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export const requestContext = {
  run<T>(context: RequestContext, fn: () => T): T {
    return storage.run(context, fn);
  },
  current(): RequestContext | undefined {
    return storage.getStore();
  },
};
