import type { z } from 'zod';
import { AppConfig } from './app-config';
import { configSchema } from './config.schema';

export { DEMO_PROJECT } from './config.schema';

export type Environment = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the whole environment at once and reports every problem in one error. */
export function loadConfig(env: Environment = process.env): AppConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(issueProblems(parsed.error, 1));
  return parsed.data;
}

/**
 * `VAR: problem` for every issue, once; `depth` path elements name the concern above the variable. A problem
 * inside a JSON value keeps its place: `AUTH_API_KEYS[0.sha256]: …`.
 */
export function issueProblems(error: z.ZodError, depth: number): string[] {
  const problems = error.issues.map((issue) => {
    const [variable, ...inside] = issue.path.slice(depth).map(String);
    return `${variable ?? 'environment'}${inside.length ? `[${inside.join('.')}]` : ''}: ${issue.message}`;
  });
  return [...new Set(problems)];
}
