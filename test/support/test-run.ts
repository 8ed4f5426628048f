/**
 * The environment of a process a test starts: nothing inherited but PATH and this run's mark, which the
 * global teardown looks for to find processes that outlived their tests (test/support/global-teardown.js).
 */
export function childEnv(env: Record<string, string | undefined>): Record<string, string> {
  const mark = process.env.TEST_RUN_MARK;
  const merged: Record<string, string | undefined> = { PATH: process.env.PATH ?? '', ...(mark ? { TEST_RUN_MARK: mark } : {}), ...env };
  return Object.fromEntries(Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
