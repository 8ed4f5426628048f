import nodeModule from 'node:module';

/**
 * Loads a package with Node's own loader, outside jest's VM. PGlite's emscripten loader calls import(),
 * which jest's VM refuses unless node runs with --experimental-vm-modules; test/support/jest-setup.ts
 * mocks PGlite with the natively loaded module for every suite.
 */
export function requireNatively(id: string): unknown {
  const loader = nodeModule as unknown as { _load(request: string, parent: null, isMain: boolean): unknown };
  return loader._load(require.resolve(id), null, false);
}

export const loadPgliteNatively = (): unknown => requireNatively('@electric-sql/pglite');
