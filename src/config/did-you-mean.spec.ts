import fc from 'fast-check';
import { didYouMean, editDistance } from './did-you-mean';

describe('editDistance', () => {
  it.each([
    ['SMN_AUTH_MODE', 'SMN_AUTH_MODE', 0],
    ['SMN_AUTH_MDOE', 'SMN_AUTH_MODE', 1],
    ['CORS_ORIGIN', 'CORS_ORIGINS', 1],
    ['PORT', 'HOST', 2],
    ['', 'ABC', 3],
  ])('%s → %s: %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
  });

  it('is a distance: zero only for equal words, symmetric, at most the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        expect(d === 0).toBe(a === b);
        expect(editDistance(b, a)).toBe(d);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
  });
});

describe('didYouMean', () => {
  const names = ['SMN_AUTH_MODE', 'SMN_ACCESS_KEY', 'SMN_EMULATOR', 'AUDIT_POOL_MAX', 'AUDIT_LOCK_POOL_MAX'];

  it('names the closest candidate when it is close enough', () => {
    expect(didYouMean('SMN_AUTH_MDOE', names)).toBe('SMN_AUTH_MODE');
    expect(didYouMean('SMN_EMULATER', names)).toBe('SMN_EMULATOR');
    expect(didYouMean('AUDIT_LOCKPOOL_MAX', names)).toBe('AUDIT_LOCK_POOL_MAX');
    expect(didYouMean('SMN_SOMETHING_ELSE', names)).toBeUndefined();
  });

  it('names the candidate that a word cuts short, the shortest of several', () => {
    expect(didYouMean('SMN_AUTH', names)).toBe('SMN_AUTH_MODE');
    expect(didYouMean('AUDIT_', names)).toBe('AUDIT_POOL_MAX');
    expect(didYouMean('prod', ['development', 'test', 'production'])).toBe('production');
  });
});
