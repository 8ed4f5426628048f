import { load } from 'js-yaml';
import { createHash, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEPLOY_SECRET_FILES, deployInit } from '../../scripts/deploy-init';
import { loadConfig } from '../../src/config/load-config';

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  secrets?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  expose?: string[];
  ports?: string[];
  profiles?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  secrets: Record<string, { file: string }>;
}

/** `${NAME:-default}` as compose substitutes it with nothing set in the shell. */
const substituted = (value: string) => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

describe('deployment files', () => {
  const compose = load(read('docker-compose.yml')) as Compose;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deploy-init-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('deploy:init creates every secret file the compose file mounts, owner-only, and keeps them on a second run', () => {
    const first = deployInit(dir);
    expect(first.results.map((r) => [r.file, r.made])).toEqual(DEPLOY_SECRET_FILES.map((name) => [join(dir, name), true]));
    for (const name of DEPLOY_SECRET_FILES) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    expect(Object.values(compose.secrets).map((s) => s.file)).toEqual(DEPLOY_SECRET_FILES.map((name) => `./deploy/${name}`));

    expect(createPrivateKey(readFileSync(join(dir, 'audit-signing-key.pem'))).asymmetricKeyType).toBe('ed25519');
    const [entry] = JSON.parse(readFileSync(join(dir, 'api-keys.json'), 'utf8')) as Array<{ sha256: string }>;
    expect(entry.sha256).toBe(createHash('sha256').update(first.apiKey!).digest('hex'));

    const before = DEPLOY_SECRET_FILES.map((name) => readFileSync(join(dir, name), 'utf8'));
    const second = deployInit(dir);
    expect(second.results.every((r) => !r.made)).toBe(true);
    expect(second.apiKey).toBeUndefined();
    expect(DEPLOY_SECRET_FILES.map((name) => readFileSync(join(dir, name), 'utf8'))).toEqual(before);
  });

  it("the BFF service's environment is a valid production configuration with the files deploy:init made", () => {
    const { apiKey } = deployInit(dir);
    const secretPaths: Record<string, string> = {
      '/run/secrets/audit-signing-key': join(dir, 'audit-signing-key.pem'),
      '/run/secrets/api-keys': join(dir, 'api-keys.json'),
    };
    const env = Object.fromEntries(
      Object.entries(compose.services.bff.environment!).map(([name, value]) => [name, secretPaths[value] ?? substituted(String(value))]),
    );
    const config = loadConfig(env);
    expect(config.nodeEnv).toBe('production');
    expect(config.auth.apiKeys.map((k) => k.sha256)).toEqual([createHash('sha256').update(apiKey!).digest('hex')]);
    // Scrapable from the compose network: on HOST (0.0.0.0), not on a loopback address.
    expect(config.http.metrics).toEqual({ host: '0.0.0.0', port: 9464 });
  });

  it('has a healthcheck for every service, and starts each after what it depends on is healthy', () => {
    const services = Object.entries(compose.services);
    expect(services.map(([name]) => name).sort()).toEqual(['bff', 'emulator', 'lb', 'postgres', 'prometheus', 'redis']);
    for (const [name, service] of services) expect({ name, healthcheck: Boolean(service.healthcheck?.test?.length) }).toEqual({ name, healthcheck: true });
    for (const [, service] of services) for (const dependency of Object.values(service.depends_on ?? {})) expect(dependency.condition).toBe('service_healthy');
    for (const [, service] of services) for (const volume of service.volumes ?? []) expect(() => statSync(join(ROOT, volume.split(':')[0]))).not.toThrow();
  });

  it('the load balancer proxies the public port only (never the metrics port) and does not route /docs', () => {
    const nginx = read('deploy/nginx.conf');
    expect([...nginx.matchAll(/^\s*server (\S+);/gm)].map((m) => m[1])).toEqual(['bff:3000']);
    expect(nginx).not.toContain('9464');
    expect(nginx).toMatch(/location \^~ \/docs \{ return 404; \}/);
    expect(compose.services.lb.ports).toEqual(['3000:3000']);
  });

  it('Prometheus scrapes every replica on the metrics port the BFF listens on, which the image exposes', () => {
    const bff = compose.services.bff;
    const port = bff.environment!.METRICS_PORT;
    expect(port).toBe('9464');
    expect(bff.expose).toContain(port);
    expect(compose.services.prometheus.profiles).toEqual(['monitoring']);
    const prometheus = load(read('deploy/prometheus.yml')) as {
      scrape_configs: Array<{ dns_sd_configs: Array<{ names: string[]; type: string; port: number }> }>;
    };
    expect(prometheus.scrape_configs.flatMap((job) => job.dns_sd_configs)).toEqual([
      expect.objectContaining({ names: ['bff'], type: 'A', port: Number(port) }),
    ]);
    expect(read('Dockerfile')).toMatch(/^EXPOSE 3000 9464$/m);
    expect(read('Dockerfile')).toMatch(/^ENV .*\bMETRICS_PORT=9464\b/m);
  });

  it('the image checks readiness, runs as non-root with production dependencies, on the Node major the tests run on', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n\s+CMD .*\/health\/ready/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    const majors = [...dockerfile.matchAll(/^FROM node:(\d+)/gm)].map((m) => m[1]);
    expect(majors.length).toBeGreaterThan(0);
    expect(new Set(majors)).toEqual(new Set([process.versions.node.split('.')[0]]));
  });

  it('the README describes every service, the secret files and deploy:init', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm run deploy:init');
    for (const name of DEPLOY_SECRET_FILES) expect(readme).toContain(`deploy/${name}`);
    for (const name of Object.keys(compose.services)) expect(readme).toContain(`\`${name}\``);
  });
});
