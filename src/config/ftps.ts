/**
 * FTPS server settings: defaults that work on a fresh machine, overridden by environment variables
 * (documented in the README). Bad values stop the start with a message naming the variable.
 */
import path from 'node:path';
import type { DropServerConfig } from '../ftps/types';
import { defaultDataDir } from './database';

export interface FtpsSettings extends Omit<DropServerConfig, 'tls'> {
  certFile: string | null;
  keyFile: string | null;
  dataDir: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError(`${name}=${raw}: expected a whole number from ${min} to ${max}`);
  return value;
}

export function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name}=${env[name]}: expected true or false`);
}

export function str(env: NodeJS.ProcessEnv, name: string): string | null {
  const raw = env[name]?.trim();
  return raw ? raw : null;
}

const SECOND = 1000;

export function loadFtpsSettings(env: NodeJS.ProcessEnv): FtpsSettings {
  const dataDir = defaultDataDir(env);
  const implicit = int(env, 'ROSTERDROP_FTPS_IMPLICIT_PORT', 0, 0, 65535);
  const settings: FtpsSettings = {
    host: str(env, 'ROSTERDROP_FTPS_HOST') ?? '0.0.0.0',
    explicitPort: int(env, 'ROSTERDROP_FTPS_PORT', 2121, 0, 65535),
    implicitPort: implicit === 0 ? null : implicit,
    dropRoot: path.resolve(str(env, 'ROSTERDROP_DROP_DIR') ?? path.join(dataDir, 'drop')),
    dataDir,
    certFile: str(env, 'ROSTERDROP_TLS_CERT'),
    keyFile: str(env, 'ROSTERDROP_TLS_KEY'),
    minTlsVersion: env.ROSTERDROP_TLS_MIN_VERSION === 'TLSv1.3' ? 'TLSv1.3' : 'TLSv1.2',
    requireTlsSessionReuse: bool(env, 'ROSTERDROP_FTPS_REQUIRE_TLS_REUSE', false),
    passive: {
      minPort: int(env, 'ROSTERDROP_FTPS_PASV_MIN', 50000, 1024, 65535),
      maxPort: int(env, 'ROSTERDROP_FTPS_PASV_MAX', 50099, 1024, 65535),
      advertisedAddress: str(env, 'ROSTERDROP_FTPS_PASV_ADDRESS'),
      maxPerUser: int(env, 'ROSTERDROP_FTPS_PASV_PER_USER', 4, 1, 65535),
      maxPerDomain: int(env, 'ROSTERDROP_FTPS_PASV_PER_DOMAIN', 8, 1, 65535),
    },
    allowActiveMode: bool(env, 'ROSTERDROP_FTPS_ACTIVE_MODE', false),
    maxUploadBytes: int(env, 'ROSTERDROP_FTPS_MAX_UPLOAD_MB', 2048, 1, 1_048_576) * 1024 * 1024,
    maxCommandLineBytes: 4096,
    login: {
      maxFailuresPerConnection: int(env, 'ROSTERDROP_FTPS_MAX_LOGIN_FAILURES', 3, 1, 100),
      failureDelayMs: int(env, 'ROSTERDROP_FTPS_FAILURE_DELAY_MS', 1000, 0, 60_000),
      banAfterFailures: int(env, 'ROSTERDROP_FTPS_BAN_AFTER_FAILURES', 10, 1, 10_000),
      banWindowMs: int(env, 'ROSTERDROP_FTPS_BAN_WINDOW_S', 600, 1, 86_400) * SECOND,
      banDurationMs: int(env, 'ROSTERDROP_FTPS_BAN_DURATION_S', 1800, 1, 604_800) * SECOND,
      allowList: (str(env, 'ROSTERDROP_FTPS_BAN_ALLOW') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    },
    connections: {
      maxConnections: int(env, 'ROSTERDROP_FTPS_MAX_CONNECTIONS', 200, 1, 100_000),
      maxConnectionsPerIp: int(env, 'ROSTERDROP_FTPS_MAX_CONNECTIONS_PER_IP', 20, 1, 100_000),
    },
    timeouts: {
      loginMs: int(env, 'ROSTERDROP_FTPS_LOGIN_TIMEOUT_S', 60, 1, 3600) * SECOND,
      idleMs: int(env, 'ROSTERDROP_FTPS_IDLE_TIMEOUT_S', 300, 1, 86_400) * SECOND,
      transferStallMs: int(env, 'ROSTERDROP_FTPS_STALL_TIMEOUT_S', 60, 1, 3600) * SECOND,
      dataConnectMs: int(env, 'ROSTERDROP_FTPS_DATA_CONNECT_TIMEOUT_S', 15, 1, 600) * SECOND,
      passiveUnusedMs: int(env, 'ROSTERDROP_FTPS_PASV_UNUSED_TIMEOUT_S', 30, 1, 3600) * SECOND,
    },
  };
  if (settings.passive.minPort > settings.passive.maxPort) {
    throw new ConfigError('ROSTERDROP_FTPS_PASV_MIN is above ROSTERDROP_FTPS_PASV_MAX');
  }
  if (env.ROSTERDROP_TLS_MIN_VERSION && !['TLSv1.2', 'TLSv1.3'].includes(env.ROSTERDROP_TLS_MIN_VERSION)) {
    throw new ConfigError(`ROSTERDROP_TLS_MIN_VERSION=${env.ROSTERDROP_TLS_MIN_VERSION}: expected TLSv1.2 or TLSv1.3`);
  }
  return settings;
}
