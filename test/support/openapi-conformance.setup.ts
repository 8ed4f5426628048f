/**
 * Every answer supertest receives is checked against the committed spec (openapi-conformance.ts), in every
 * suite that loads this file — so a new test cannot forget it. A non-conforming answer fails the request the
 * way a failed `.expect()` does. Loaded by jest (`setupFilesAfterEnv`), in each test file's module registry,
 * so the supertest the tests import is the one patched here.
 */
import { installSupertestConformance } from './openapi-conformance';

installSupertestConformance();
