import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import type { z } from 'zod';
import { AppConfig } from './app-config';
import { configSchema, VARIABLE_NAMES, VARIABLE_PREFIXES } from './config.schema';
import { didYouMean } from './did-you-mean';

export { DEMO_PROJECT } from './config.schema';

export type Environment = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the whole environment at once and reports every problem in one error. */
export function loadConfig(env: Environment = environment()): AppConfig {
  const parsed = configSchema.safeParse(env);
  const problems = [...unknownVariables(env), ...(parsed.error ? issueProblems(parsed.error, 1) : [])];
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}

/**
 * The process environment over `./.env` when that file exists: a variable already in the environment wins.
 * Not read when the environment says NODE_ENV=test, so that a test run sees exactly what it sets.
 */
export function environment(path = resolve('.env'), env: Environment = process.env): Environment {
  if (env.NODE_ENV === 'test' || !existsSync(path)) return env;
  return { ...parseEnv(readFileSync(path, 'utf8')), ...env };
}

/** Variables in one of this service's namespaces (`SMN_`, `AUTH_`, …) that it does not know: a typo is refused, not ignored. */
export function unknownVariables(env: Environment): string[] {
  return Object.keys(env)
    .filter((name) => env[name] !== undefined && !VARIABLE_NAMES.has(name) && VARIABLE_PREFIXES.some((prefix) => name.startsWith(prefix)))
    .sort()
    .map((name) => {
      const suggestion = didYouMean(name, VARIABLE_NAMES);
      return `${name}: unknown variable${suggestion ? ` (did you mean ${suggestion}?)` : ''}; docs/configuration.md lists every variable`;
    });
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
