import { ConfigError, DEMO_PROJECT, loadConfig } from './load-config';

describe('loadConfig', () => {
  it('runs with zero configuration on the embedded emulator and the demo project', () => {
    const config = loadConfig({});
    expect(config.smn.emulator).toBe(true);
    expect([...config.smn.projects]).toEqual([[DEMO_PROJECT.id, DEMO_PROJECT.region]]);
    expect(config.http.port).toBe(3000);
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ NODE_ENV: 'production', PORT: 'abc', UPSTREAM_MAX_RETRIES: '-1' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'UPSTREAM_MAX_RETRIES', 'SMN_ACCESS_KEY', 'SMN_SECRET_KEY', 'SMN_PROJECTS']) {
      expect(problems).toContain(name);
    }
  });

  it('validates the project map and endpoint overrides', () => {
    expect(() => loadConfig({ SMN_PROJECTS: 'NOTHEX=cn-north-4' })).toThrow(/not a project id/);
    expect(() => loadConfig({ SMN_PROJECTS: `${DEMO_PROJECT.id}=Bad Region` })).toThrow(/not a region id/);
    expect(() => loadConfig({ SMN_ENDPOINTS: 'cn-north-4=ftp://x' })).toThrow(/not an http\(s\) URL/);
    const config = loadConfig({ SMN_PROJECTS: `${DEMO_PROJECT.id}=eu-west-0`, SMN_ENDPOINTS: 'eu-west-0=http://127.0.0.1:9000/' });
    expect(config.smn.projects.get(DEMO_PROJECT.id)).toBe('eu-west-0');
    expect(config.smn.endpoints.get('eu-west-0')).toBe('http://127.0.0.1:9000');
  });
});
