import { Module } from '@nestjs/common';
import { SmnModule } from '../smn/smn.module';
import { SmsCallbackController } from './sms-callback.controller';
import { SmsCallbackService } from './sms-callback.service';
import { RefusedAttemptsAudit } from './refused-attempts.audit';

@Module({
  imports: [SmnModule],
  controllers: [SmsCallbackController],
  providers: [SmsCallbackService, RefusedAttemptsAudit],
})
export class SmsCallbackModule {}
