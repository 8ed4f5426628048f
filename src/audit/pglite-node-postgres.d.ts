// The package exports this entry point only through package.json "exports", which the project's
// `moduleResolution: node` does not read; Node resolves it at run time. Declared here with the
// one function we use: its result is a node-postgres pool config whose connection is PGlite.
declare module '@electric-sql/pglite/node-postgres' {
  import type { PGlite } from '@electric-sql/pglite';
  import type { PoolConfig } from 'pg';

  export function createPgConfig(pglite: PGlite): PoolConfig;
}
