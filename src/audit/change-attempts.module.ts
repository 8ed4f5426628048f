import { Module } from '@nestjs/common';
import { ChangeAttemptLifecycle } from './change-attempt.lifecycle';

/**
 * The audited-change pipeline for feature modules with `@AuditedChange()` routes. Apart from the global
 * AuditModule (the store) so that the store can be used without HTTP, e.g. by tools and store tests.
 */
@Module({
  providers: [ChangeAttemptLifecycle],
  exports: [ChangeAttemptLifecycle],
})
export class ChangeAttemptsModule {}
