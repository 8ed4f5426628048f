import fc from 'fast-check';
import { signRequest, type AkSkCredentials, type SignableRequest } from '../../src/smn/signing/aksk-signer';
import { credentialsOf, encodeQuery, METHODS, signCase, toSignable, type SignCase } from './signable-request.arbitrary';

const NUM_RUNS = 300;

const authorization = (request: SignableRequest, credentials: AkSkCredentials, now: Date): string => signRequest(request, credentials, now).Authorization;

/** One change per signed component; each must yield a different signature. */
const MUTATIONS: Record<string, (c: SignCase, r: SignableRequest) => SignableRequest | undefined> = {
  method: (c, r) => ({ ...r, method: METHODS[(METHODS.indexOf(c.method) + 1) % METHODS.length] }),
  path: (_c, r) => {
    const [base, query] = r.url.split('?');
    return { ...r, url: `${base}z${query === undefined ? '' : `?${query}`}` };
  },
  'query: extra pair': (_c, r) => ({ ...r, url: `${r.url}${r.url.includes('?') ? '&' : '?'}zz=1` }),
  'query: changed value': (c, r) => {
    if (c.query.length === 0) return undefined;
    const pairs = c.query.map(([k, v], i): [string, string] => [k, i === 0 ? `${v}x` : v]);
    return { ...r, url: `${r.url.split('?')[0]}?${encodeQuery(pairs, c.queryEncoding)}` };
  },
  'signed header: changed value': (_c, r) => {
    const name = Object.keys(r.headers)[0];
    return name === undefined ? undefined : { ...r, headers: { ...r.headers, [name]: `${r.headers[name]}x` } };
  },
  'signed header: added': (_c, r) => ({ ...r, headers: { ...r.headers, 'x-added': 'v' } }),
  host: (c, r) => {
    const other = c.authority.toLowerCase() === 'other.example.com' ? 'other.example.net' : 'other.example.com';
    return { ...r, url: r.url.replace(`://${c.authority}`, `://${other}`) };
  },
  body: (c, r) => {
    // With UNSIGNED-PAYLOAD the body is deliberately not signed (checked below).
    if ('X-Sdk-Content-Sha256' in c.headers) return undefined;
    return { ...r, body: `${r.body?.toString() ?? ''} ` };
  },
};

describe('aksk-signer properties', () => {
  it(`changes the signature when any signed component changes (${NUM_RUNS} runs)`, () => {
    fc.assert(
      fc.property(signCase, (c) => {
        const request = toSignable(c);
        const credentials = credentialsOf(c);
        const base = authorization(request, credentials, c.now);
        for (const [what, mutate] of Object.entries(MUTATIONS)) {
          const changed = mutate(c, request);
          if (changed !== undefined) expect([what, authorization(changed, credentials, c.now)]).not.toEqual([what, base]);
        }
        expect(authorization(request, credentials, new Date(c.now.getTime() + 1000))).not.toBe(base);
        expect(authorization(request, { ...credentials, sk: `${credentials.sk}x` }, c.now)).not.toBe(base);
        const token = `${c.securityToken?.value ?? ''}x`;
        const withOtherToken =
          c.securityToken?.via === 'header'
            ? authorization({ ...request, headers: { ...request.headers, 'x-security-token': token } }, credentials, c.now)
            : authorization(request, { ...credentials, securityToken: token }, c.now);
        expect(withOtherToken).not.toBe(base);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it(`keeps the signature for equivalent requests (${NUM_RUNS} runs)`, () => {
    fc.assert(
      fc.property(signCase, fc.func(fc.integer()), (c, order) => {
        const request = toSignable(c);
        const credentials = credentialsOf(c);
        const base = authorization(request, credentials, c.now);
        // Query pairs in another order and another encoding.
        const shuffled = [...c.query].sort((a, b) => order(a[0] + a[1]) - order(b[0] + b[1]));
        for (const encoding of ['form', 'strict', 'component'] as const) {
          const url = `${request.url.split('?')[0]}${shuffled.length === 0 ? '' : `?${encodeQuery(shuffled, encoding)}`}`;
          expect(authorization({ ...request, url }, credentials, c.now)).toBe(base);
        }
        // Header names in another letter case, values with surrounding whitespace.
        const recased = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toUpperCase(), ` ${v}\t`]));
        expect(authorization({ ...request, headers: recased }, credentials, c.now)).toBe(base);
        // Body bytes matter unless the payload is unsigned.
        if ('X-Sdk-Content-Sha256' in c.headers) expect(authorization({ ...request, body: 'other' }, credentials, c.now)).toBe(base);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
