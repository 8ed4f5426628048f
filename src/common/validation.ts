import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { BffError, FieldError } from './bff-error';
import { ErrorCode } from './error-codes';

/**
 * class-validator through Nest's pipe: unknown properties are rejected (not dropped), and every problem is
 * reported with its path (`callback[1].topic_urn`) in the one envelope.
 */
export function createValidationPipe(): ValidationPipe {
  return new BodyValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => validationFailed(flatten(errors)),
  });
}

/** Every body this API takes is a JSON object; say so plainly instead of class-validator's per-field noise. */
class BodyValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw validationFailed([{ field: 'body', message: 'expected a JSON object' }]);
    }
    return super.transform(value, metadata);
  }
}

export function validationFailed(errors: FieldError[]): BffError {
  return new BffError(400, ErrorCode.ValidationFailed, 'The request is invalid.', { errors });
}

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = error.property === undefined || error.property === '' ? parent || 'body' : join(parent, error.property);
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message: rename(message) }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

function join(parent: string, property: string): string {
  if (/^\d+$/.test(property)) return `${parent}[${property}]`;
  return parent ? `${parent}.${property}` : property;
}

/**
 * class-validator's messages for unknown input name no field, or quote the caller's property name: say what
 * was expected instead, in the same words as the JSON body parser (json-body.ts). The field names it.
 */
function rename(message: string): string {
  if (message.startsWith('an unknown value was passed')) return 'expected a JSON object';
  if (message.endsWith('should not exist')) return 'is not a known property';
  return message;
}
