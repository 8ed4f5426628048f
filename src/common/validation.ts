import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { BffError, FieldError } from './bff-error';
import { ErrorCode } from './error-codes';

/** An upstream's own answer to a request that breaks one of its rules: its code and its message, verbatim. */
export interface RuleError {
  code: string;
  message: string;
}

/**
 * The class-validator `context` of a constraint that is an upstream's own rule (README, Errors: SMN's codes
 * for SMN's own rules). `errorFor` gets the object that broke it, since one rule may answer per item (SMN
 * names a bad topic URN by the item's event type). Holds no state; the DTO that declares the constraint says
 * which rule it is, the upstream's folder owns the codes.
 */
export interface UpstreamRule {
  readonly upstreamRule: true;
  errorFor(object: object): RuleError;
}

/**
 * class-validator through Nest's pipe: unknown properties are rejected (not dropped), and every problem is
 * reported with its path (`callback[1].topic_urn`) in the one envelope. When every problem breaks an upstream
 * rule, the answer carries that upstream's code and message (of the first, in body order), as the upstream
 * would have answered; any other problem makes it `BFF.VALIDATION_FAILED`.
 */
export function createValidationPipe(): ValidationPipe {
  return new BodyValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    // The target lets an upstream rule see its item; neither target nor value ever reaches the answer.
    validationError: { target: true, value: false },
    exceptionFactory: (errors) => invalid(flatten(errors)),
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

/** 400 with an upstream's code and message for a broken upstream rule, the field-level problems kept. */
export function upstreamRuleBroken(rule: RuleError, errors: FieldError[]): BffError {
  return new BffError(400, rule.code, rule.message, { errors });
}

interface Violation extends FieldError {
  /** Set when the problem breaks an upstream's own rule. */
  rule?: RuleError;
}

function invalid(violations: Violation[]): BffError {
  const errors = violations.map(({ field, message }) => ({ field, message }));
  const first = violations[0]?.rule;
  return first && violations.every((v) => v.rule) ? upstreamRuleBroken(first, errors) : validationFailed(errors);
}

function flatten(errors: ValidationError[], parent = ''): Violation[] {
  return errors.flatMap((error) => {
    const field = error.property === undefined || error.property === '' ? parent || 'body' : join(parent, error.property);
    const own = Object.entries(error.constraints ?? {}).map(([name, message]) => ({
      field,
      message: rename(message),
      rule: ruleError(error.contexts?.[name], error.target),
    }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

function ruleError(context: unknown, target: object | undefined): RuleError | undefined {
  const rule = context as Partial<UpstreamRule> | undefined;
  return rule?.upstreamRule === true && target ? rule.errorFor!(target) : undefined;
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
