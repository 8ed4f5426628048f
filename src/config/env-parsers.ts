import { readFileSync } from 'node:fs';
import { z } from 'zod';

const split = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

// Functions rather than shared instances: each variable's field carries its own documentation (config.schema.ts).

/** Comma-separated list; blanks dropped; unset is the empty list. */
export const csv = () => z.string().optional().transform(split);

/** Comma-separated list whose default is `fallback`, also when it is set but empty. */
export const list = (fallback: readonly string[]) =>
  z
    .string()
    .default(fallback.join(','))
    .transform((value) => {
      const items = split(value);
      return items.length ? items : [...fallback];
    });

export const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

/** `true` or `false`; unset stays undefined so that the schema can derive the default. */
export const flag = () =>
  z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => (value === undefined ? undefined : value === 'true'));

/** `key=value,key=value` pairs. */
export function pairs(raw: string | undefined): Array<[string, string]> {
  return split(raw).map((pair) => {
    const at = pair.indexOf('=');
    return at < 0 ? [pair, ''] : [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
  });
}

/** A path whose content is the value (secrets mounted as files); an unreadable file is a problem of this variable. */
export const fileContent = () =>
  z
    .string()
    .min(1)
    .transform((path, ctx) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (error) {
        ctx.issues.push({ code: 'custom', message: (error as Error).message, input: path });
        return z.NEVER;
      }
    });

/**
 * JSON text, then `schema`; problems inside the value keep their path (`AUTH_API_KEYS[0.sha256]: …`). With
 * `secret`, a syntax error is reported without V8's message, which quotes the text (and so the secret).
 */
export const json = <T extends z.ZodType>(schema: T, { secret = false } = {}) =>
  z
    .string()
    .transform((text, ctx): unknown => {
      try {
        return JSON.parse(text);
      } catch (error) {
        const message = secret ? 'is not valid JSON' : (error as Error).message;
        ctx.issues.push({ code: 'custom', message, input: secret ? undefined : text });
        return z.NEVER;
      }
    })
    .pipe(schema);
