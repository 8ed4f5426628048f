/**
 * PGlite's emscripten loader calls import(), which jest's VM refuses without --experimental-vm-modules;
 * every suite gets PGlite from Node's own loader instead.
 */
jest.mock('@electric-sql/pglite', () => jest.requireActual('./native-require').loadPgliteNatively());
