import { Module } from '@nestjs/common';
import { ChangeAttemptsModule } from '../audit/change-attempts.module';
import { SmsCallbackController } from './sms-callback.controller';
import { SmsCallbackService } from './sms-callback.service';

@Module({
  imports: [ChangeAttemptsModule],
  controllers: [SmsCallbackController],
  providers: [SmsCallbackService],
})
export class SmsCallbackModule {}
