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
  });

  it('has a healthcheck for every service, and starts each after what it depends on is healthy', () => {
    const services = Object.entries(compose.services);
    expect(services.map(([name]) => name).sort()).toEqual(['bff', 'emulator', 'lb', 'postgres', 'redis']);
    for (const [name, service] of services) expect({ name, healthcheck: Boolean(service.healthcheck?.test?.length) }).toEqual({ name, healthcheck: true });
    for (const [, service] of services) for (const dependency of Object.values(service.depends_on ?? {})) expect(dependency.condition).toBe('service_healthy');
    for (const volume of compose.services.lb.volumes ?? []) expect(() => statSync(join(ROOT, volume.split(':')[0]))).not.toThrow();
  });

  it('the load balancer does not route /metrics nor /docs', () => {
    const nginx = read('deploy/nginx.conf');
    expect(nginx).toMatch(/location = \/metrics \{ return 404; \}/);
    expect(nginx).toMatch(/location \^~ \/docs \{ return 404; \}/);
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
