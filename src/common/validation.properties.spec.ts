import 'reflect-metadata';
import fc from 'fast-check';
import { UpdateSmsCallbacksDto } from '../sms-callback/dto/update-sms-callbacks.request.dto';
import { BffError } from './bff-error';
import { createValidationPipe } from './validation';

/**
 * The body rules as a property, straight against the pipe the app uses: many generated bodies cost
 * microseconds here, where over HTTP each would cost a request and an audit record (the HTTP suite sends a
 * smaller sample of the same shapes end to end).
 */
describe('the PUT body validation, over generated malformed bodies', () => {
  const pipe = createValidationPipe();
  const metadata = { type: 'body' as const, metatype: UpdateSmsCallbacksDto, data: '' };

  const junk = fc.oneof(fc.jsonValue(), fc.string(), fc.integer(), fc.constant(null));
  const badItem = fc.oneof(
    fc.record({ event_type: junk, topic_urn: junk }, { requiredKeys: [] }),
    // Real event types with topic URNs that are never valid (a random string does not form a URN).
    fc.record({
      event_type: fc.constantFrom('sms_fail_event', 'sms_reply_event'),
      topic_urn: fc.string({ minLength: 1 }).filter((s) => !s.startsWith('urn:')),
    }),
    fc.dictionary(fc.string(), junk),
  );
  const body = fc.oneof(fc.record({ callback: fc.array(badItem, { maxLength: 5 }) }), fc.record({ callback: junk }), fc.dictionary(fc.string(), junk), junk);

  it('refuses every one with a 400 in the envelope, naming at least one field, and never throws anything else', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        // As Fastify hands it over: parsed JSON (undefined is what an empty body would be, refused earlier).
        const parsed: unknown = JSON.parse(JSON.stringify(payload) ?? 'null');
        // The pipe throws synchronously for a body that is not an object, asynchronously for the rest.
        const error = await Promise.resolve()
          .then(() => pipe.transform(parsed, metadata))
          .then(
            () => undefined,
            (caught: unknown) => caught,
          );
        expect(error).toBeInstanceOf(BffError);
        const refusal = error as BffError;
        expect(refusal.status).toBe(400);
        expect(refusal.code).toMatch(/^(BFF|SMN)\./);
        expect(refusal.errors?.length).toBeGreaterThan(0);
      }),
      { numRuns: 2_000, seed: 20261201 },
    );
  });
});
