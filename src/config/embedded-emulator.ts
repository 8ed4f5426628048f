import type { AppConfig } from './app-config';

/** What the embedded emulator offers once it listens: its URL and the demo identities it verifies. */
export interface EmbeddedEmulator {
  url: string;
  accessKey: string;
  secretKey: string;
  iamUser: { name: string; password: string; domain: string };
}

/**
 * The configuration of the embedded default: every configured project's region served by the emulator,
 * requests signed (or tokens obtained) with its demo credentials. A new configuration: the validated one
 * is not changed.
 */
export function withEmbeddedEmulator(config: AppConfig, emulator: EmbeddedEmulator): AppConfig {
  const { smn } = config;
  const endpoints = new Map(smn.endpoints);
  for (const region of new Set(smn.projects.values())) endpoints.set(region, emulator.url);
  const auth: AppConfig['smn']['auth'] =
    smn.auth.mode === 'token'
      ? { ...smn.auth, iamEndpoint: emulator.url, user: emulator.iamUser.name, password: emulator.iamUser.password, domain: emulator.iamUser.domain }
      : { mode: 'aksk', accessKey: emulator.accessKey, secretKey: emulator.secretKey, securityToken: undefined };
  return Object.freeze({ ...config, smn: Object.freeze({ ...smn, endpoints: endpoints as ReadonlyMap<string, string>, auth }) });
}
