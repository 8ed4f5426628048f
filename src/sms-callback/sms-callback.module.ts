import { Module } from '@nestjs/common';
import { ChangeAttemptsModule } from '../audit/change-attempts.module';
import { SmnModule } from '../smn/smn.module';
import { SmsCallbackController } from './sms-callback.controller';
import { SmsCallbackService } from './sms-callback.service';

@Module({
  imports: [SmnModule, ChangeAttemptsModule],
  controllers: [SmsCallbackController],
  providers: [SmsCallbackService],
})
export class SmsCallbackModule {}
