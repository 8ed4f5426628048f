/**
 * The scopes a caller can hold. Part of the public contract (README, OpenAPI); defined here, at the bottom
 * of the layers, because the configuration validates the scopes of configured API keys against them.
 */
export const Scope = {
  SmsCallbackRead: 'sms-callback:read',
  SmsCallbackWrite: 'sms-callback:write',
  AuditRead: 'audit:read',
} as const;
export type Scope = (typeof Scope)[keyof typeof Scope];
