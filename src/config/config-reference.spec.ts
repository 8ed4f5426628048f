import { parseEnv } from 'node:util';
import { configReference, renderEnvExample, renderMarkdown } from './config-reference';
import { VARIABLE_NAMES, VARIABLE_PREFIXES } from './config.schema';

describe('the configuration reference', () => {
  const variables = configReference().flatMap((concern) => concern.variables);

  it('lists every variable of the schema once, each with a description', () => {
    expect(variables.map((v) => v.name).sort()).toEqual([...VARIABLE_NAMES].sort());
    for (const v of variables) expect(v.description.length).toBeGreaterThan(10);
  });

  it('gives secrets no default', () => {
    const secrets = variables.filter((v) => v.secret);
    expect(secrets.map((v) => v.name)).toEqual(
      expect.arrayContaining(['SMN_ACCESS_KEY', 'SMN_SECRET_KEY', 'SMN_SECURITY_TOKEN', 'SMN_IAM_PASSWORD', 'AUDIT_SIGNING_KEY', 'DATABASE_URL', 'REDIS_URL']),
    );
    for (const v of secrets) expect(v.value).toBeUndefined();
  });

  it('reads defaults and accepted values off the schema', () => {
    const byName = new Map(variables.map((v) => [v.name, v]));
    expect(byName.get('PORT')).toMatchObject({ default: '`3000`', value: '3000' });
    expect(byName.get('AUTH_JWT_ALGORITHMS')).toMatchObject({ value: 'RS256,ES256,EdDSA' });
    expect(byName.get('NODE_ENV')).toMatchObject({ value: 'development', values: ['development', 'test', 'production'] });
    expect(byName.get('SMN_EMULATOR')).toMatchObject({ default: '`true` unless production', value: undefined, values: ['true', 'false'] });
  });

  it('renders every variable into docs/configuration.md and .env.example', () => {
    const markdown = renderMarkdown();
    const example = renderEnvExample();
    for (const name of VARIABLE_NAMES) {
      expect(markdown).toContain(`| \`${name}\` |`);
      expect(example).toContain(`\n# ${name}=`);
    }
  });

  it('writes .env.example so that copying it to .env changes nothing', () => {
    expect(parseEnv(renderEnvExample())).toEqual({});
  });

  it('derives the namespaces of unknown-variable refusal from the names', () => {
    expect([...VARIABLE_PREFIXES].sort()).toEqual([
      'AUDIT_',
      'AUTH_',
      'CHANGE_',
      'CORS_',
      'HTTP_',
      'LOG_',
      'METRICS_',
      'RATE_LIMIT_',
      'SHUTDOWN_',
      'SMN_',
      'TRUSTED_',
      'UPSTREAM_',
    ]);
  });
});
