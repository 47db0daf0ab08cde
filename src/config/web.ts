/**
 * The web admin and HTTP API (src/web/): where it listens, who may see every domain, how long a
 * sign-in lasts. HTTPS with the FTPS certificate; plain HTTP only behind a TLS-terminating proxy
 * (ROSTERDROP_HTTP_TRUST_PROXY), never by accident.
 */
import { bool, int, str } from './ftps';

export interface WebSettings {
  /** 0 = the web admin is off */
  port: number;
  host: string;
  /** plain HTTP, trusting X-Forwarded-For/-Proto from the proxy in front */
  trustProxy: boolean;
  /** logins (`userspace/username`) that see every domain */
  operators: string[];
  /** /metrics without a token */
  metricsPublic: boolean;
  /** a sign-in ends after this long without a request … */
  sessionIdleMs: number;
  /** … and after this long in any case */
  sessionMaxMs: number;
}

const MINUTE = 60_000;

export function loadWebSettings(env: NodeJS.ProcessEnv): WebSettings {
  return {
    port: int(env, 'ROSTERDROP_HTTP_PORT', 8443, 0, 65535),
    host: str(env, 'ROSTERDROP_HTTP_HOST') ?? str(env, 'ROSTERDROP_FTPS_HOST') ?? '0.0.0.0',
    trustProxy: bool(env, 'ROSTERDROP_HTTP_TRUST_PROXY', false),
    operators: (str(env, 'ROSTERDROP_HTTP_OPERATORS') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean),
    metricsPublic: bool(env, 'ROSTERDROP_METRICS_PUBLIC', false),
    sessionIdleMs: int(env, 'ROSTERDROP_HTTP_SESSION_IDLE_MIN', 60, 1, 10_080) * MINUTE,
    sessionMaxMs: int(env, 'ROSTERDROP_HTTP_SESSION_MAX_HOURS', 12, 1, 720) * 60 * MINUTE,
  };
}
