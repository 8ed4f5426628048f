import { testDatabaseUrl } from '../support/audit-backend';

describe('audit test database guard', () => {
  const saved = process.env.TEST_DATABASE_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = saved;
  });

  it('refuses a database whose name lacks "test"', () => {
    process.env.TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/sms_callback_bff';
    expect(() => testDatabaseUrl()).toThrow('Refusing to run audit tests against database "sms_callback_bff"');
  });

  it('accepts a test database', () => {
    process.env.TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/sms_callback_bff_test';
    expect(testDatabaseUrl()).toBe(process.env.TEST_DATABASE_URL);
  });
});
