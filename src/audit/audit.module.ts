import { DynamicModule, InjectionToken, Module, ModuleMetadata } from '@nestjs/common';
import { APP_LOGGER } from '../common/logging.module';
import { AuditCheckpointPublisher, createAuditCheckpointPublisher } from './audit-checkpoint';
import { AuditCheckpointStatus } from './audit-checkpoint-status';
import { AuditOptions } from './audit-options';
import { AuditSigningKey, loadAuditSigningKey } from './audit-signing-key';
import { AuditEventsController } from './audit-events.controller';
import { AuditService } from './audit.service';
import { AuditStore } from './audit.store';
import { openAuditStore, storeFailure } from './open-audit-store';

export interface AuditModuleOptions {
  imports?: ModuleMetadata['imports'];
  inject?: InjectionToken[];
  /** Builds the options, typically from the config service. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  useFactory: (...args: any[]) => AuditOptions | Promise<AuditOptions>;
  /**
   * Wraps the opened store (e.g. with metrics), given the providers named in `wrapInject`. The composition
   * root decides what wraps the port; the audit module knows nothing of it.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  wrapStore?: (store: AuditStore, ...args: any[]) => AuditStore;
  wrapInject?: InjectionToken[];
}

/** Global: the feature, the audit query controller and health all use the one store. */
@Module({})
export class AuditModule {
  static forRoot(options: AuditModuleOptions): DynamicModule {
    return {
      module: AuditModule,
      global: true,
      imports: options.imports ?? [],
      controllers: [AuditEventsController],
      providers: [
        { provide: AuditOptions, useFactory: options.useFactory, inject: options.inject ?? [] },
        { provide: AuditSigningKey, useFactory: loadAuditSigningKey, inject: [AuditOptions] },
        {
          provide: AuditStore,
          inject: [AuditOptions, ...(options.wrapInject ?? [])],
          useFactory: async (auditOptions: AuditOptions, ...wrapArgs: unknown[]) => {
            const store = await openMigratedStore(auditOptions);
            return options.wrapStore ? options.wrapStore(store, ...wrapArgs) : store;
          },
        },
        AuditService,
        { provide: AuditCheckpointPublisher, useFactory: createAuditCheckpointPublisher, inject: [AuditStore, AuditSigningKey, AuditOptions, APP_LOGGER] },
        { provide: AuditCheckpointStatus, useExisting: AuditCheckpointPublisher },
      ],
      exports: [AuditOptions, AuditSigningKey, AuditStore, AuditService, AuditCheckpointPublisher, AuditCheckpointStatus],
    };
  }
}

/**
 * Boot fails if the store cannot be opened (e.g. PGlite directory in use, PostgreSQL unreachable) or migrated,
 * with one line that says which store and why (StartupError).
 */
async function openMigratedStore(options: AuditOptions): Promise<AuditStore> {
  let store: AuditStore;
  try {
    store = await openAuditStore({
      databaseUrl: options.databaseUrl,
      dataDir: options.dataDir,
      poolMax: options.poolMax,
      lockPoolMax: options.lockPoolMax,
      statementTimeoutMs: options.statementTimeoutMs,
      lockWaitMs: options.lockWaitMs,
    });
  } catch (error) {
    throw storeFailure(error, options);
  }
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw storeFailure(error, options);
  }
  return store;
}
