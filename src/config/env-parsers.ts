import { z } from 'zod';

/** Comma-separated list; blanks dropped. */
export const csv = z
  .string()
  .optional()
  .transform((value) => (value ?? '').split(',').map((item) => item.trim()).filter(Boolean));

export const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

/** `key=value,key=value` pairs. */
export function pairs(raw: string | undefined): Array<[string, string]> {
  return csv.parse(raw).map((pair) => {
    const at = pair.indexOf('=');
    return at < 0 ? [pair, ''] : [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
  });
}
