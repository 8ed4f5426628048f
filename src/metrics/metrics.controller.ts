import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { MetricsService } from './metrics.service';

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

@ApiTags('Operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Request, upstream, circuit, audit and authentication metrics, for a Prometheus scraper. */
  @Get()
  @Header('content-type', PROMETHEUS_TEXT)
  @ApiOperation({ operationId: 'getMetrics', summary: 'Prometheus metrics', security: [] })
  @ApiProduces('text/plain')
  @ApiResponse({
    status: 200,
    description: 'The Prometheus text exposition format, version 0.0.4.',
    content: {
      'text/plain': {
        schema: {
          type: 'string',
          example: '# TYPE http_request_duration_seconds histogram\nhttp_request_duration_seconds_count{method="GET",route="/health/live",status="200"} 1\n',
        },
      },
    },
  })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
