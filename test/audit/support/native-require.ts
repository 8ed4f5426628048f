import nodeModule from 'node:module';

/**
 * Loads a package with Node's own loader, outside jest's VM. PGlite's emscripten loader calls
 * import(), which jest's VM refuses unless node runs with --experimental-vm-modules. Use it in a
 * suite that opens a PGlite store (jest.mock calls must sit in the test file itself):
 *
 *   jest.mock('@electric-sql/pglite', () => jest.requireActual('./support/native-require').loadPgliteNatively());
 */
export function requireNatively(id: string): unknown {
  const loader = nodeModule as unknown as { _load(request: string, parent: null, isMain: boolean): unknown };
  return loader._load(require.resolve(id), null, false);
}

export const loadPgliteNatively = (): unknown => requireNatively('@electric-sql/pglite');
