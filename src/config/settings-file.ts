/**
 * The settings file: `KEY=value` lines (the systemd EnvironmentFile format) in `config/rosterdrop.env`
 * or the file named by ROSTERDROP_CONFIG. The environment overrides the file (12-factor). Every key
 * in the file must be a known setting, so a typo stops the start instead of being ignored.
 * `config/rosterdrop.env.example` is the reference of every setting with its default.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { PROJECT_ROOT } from './database';
import { ConfigError } from './ftps';

/** Every setting rosterdrop reads. tests/config checks this list against the code and the example file. */
export const KNOWN_SETTINGS = [
  'DATABASE_URL', 'LOG_LEVEL', 'NODE_ENV', 'ROSTERDROP_DATA_DIR', 'ROSTERDROP_DROP_DIR',
  'ROSTERDROP_FTPS_HOST', 'ROSTERDROP_FTPS_PORT', 'ROSTERDROP_FTPS_IMPLICIT_PORT', 'ROSTERDROP_TLS_CERT', 'ROSTERDROP_TLS_KEY',
  'ROSTERDROP_TLS_MIN_VERSION', 'ROSTERDROP_FTPS_REQUIRE_TLS_REUSE', 'ROSTERDROP_FTPS_PASV_MIN', 'ROSTERDROP_FTPS_PASV_MAX',
  'ROSTERDROP_FTPS_PASV_ADDRESS', 'ROSTERDROP_FTPS_PASV_PER_USER', 'ROSTERDROP_FTPS_PASV_PER_DOMAIN', 'ROSTERDROP_FTPS_PASV_UNUSED_TIMEOUT_S', 'ROSTERDROP_FTPS_ACTIVE_MODE', 'ROSTERDROP_FTPS_MAX_UPLOAD_MB', 'ROSTERDROP_FTPS_MAX_LOGIN_FAILURES',
  'ROSTERDROP_FTPS_FAILURE_DELAY_MS', 'ROSTERDROP_FTPS_BAN_AFTER_FAILURES', 'ROSTERDROP_FTPS_BAN_WINDOW_S', 'ROSTERDROP_FTPS_BAN_DURATION_S',
  'ROSTERDROP_FTPS_BAN_ALLOW', 'ROSTERDROP_FTPS_MAX_CONNECTIONS', 'ROSTERDROP_FTPS_MAX_CONNECTIONS_PER_IP',
  'ROSTERDROP_FTPS_LOGIN_TIMEOUT_S', 'ROSTERDROP_FTPS_IDLE_TIMEOUT_S', 'ROSTERDROP_FTPS_STALL_TIMEOUT_S', 'ROSTERDROP_FTPS_DATA_CONNECT_TIMEOUT_S',
  'ROSTERDROP_SYNC_CONCURRENCY', 'ROSTERDROP_ARCHIVE_DAYS', 'ROSTERDROP_HELD_DAYS', 'ROSTERDROP_HTTP_PUBLIC_URL', 'ROSTERDROP_WATCH_STABLE_MS', 'ROSTERDROP_WATCH_SWEEP_S', 'ROSTERDROP_QUEUE_POLL_S',
  'ROSTERDROP_SHUTDOWN_GRACE_S', 'ROSTERDROP_SMTP_HOST', 'ROSTERDROP_SMTP_PORT', 'ROSTERDROP_SMTP_SECURE', 'ROSTERDROP_SMTP_REQUIRE_TLS',
  'ROSTERDROP_SMTP_USER', 'ROSTERDROP_SMTP_PASSWORD', 'ROSTERDROP_SMTP_VERIFY_CERT', 'ROSTERDROP_MAIL_FROM', 'ROSTERDROP_MAIL_OUTBOX',
  'ROSTERDROP_MAIL_RETRIES', 'ROSTERDROP_MAIL_RETRY_DELAY_MS', 'ROSTERDROP_PG_WORK_MEM', 'ROSTERDROP_PG_TEMP_BUFFERS', 'ROSTERDROP_PG_PARALLEL_WORKERS', 'ROSTERDROP_SLOW_SQL_MS',
  'ROSTERDROP_HTTP_PORT', 'ROSTERDROP_HTTP_HOST', 'ROSTERDROP_HTTP_TRUST_PROXY', 'ROSTERDROP_HTTP_OPERATORS', 'ROSTERDROP_HTTP_SESSION_IDLE_MIN',
  'ROSTERDROP_HTTP_SESSION_MAX_HOURS', 'ROSTERDROP_METRICS_PUBLIC',
] as const;

const KNOWN = new Set<string>(KNOWN_SETTINGS);

export function settingsFilePath(env: NodeJS.ProcessEnv): string {
  return path.resolve(env.ROSTERDROP_CONFIG?.trim() || path.join(PROJECT_ROOT, 'config', 'rosterdrop.env'));
}

/**
 * Reads the settings file into `env` for every key the environment does not set; returns the file
 * read, or null when there is none (only a missing default file is fine: a named one must exist).
 */
export function applySettingsFile(env: NodeJS.ProcessEnv): string | null {
  const file = settingsFilePath(env);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !env.ROSTERDROP_CONFIG) return null;
    throw new ConfigError(`cannot read the settings file ${file}: ${(err as Error).message}`);
  }
  const values = parseEnv(text);
  const unknown = Object.keys(values).filter((k) => !KNOWN.has(k));
  if (unknown.length) {
    throw new ConfigError(`${file}: unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.map(withSuggestion).join(', ')} (config/rosterdrop.env.example lists them all)`);
  }
  for (const [key, value] of Object.entries(values)) if (env[key] === undefined) env[key] = value;
  return file;
}

export interface UnknownVariable {
  name: string;
  /** the known setting nearest to it, when one is close enough to be a typo */
  closest: string | null;
}

/**
 * `ROSTERDROP_*` variables of the environment that rosterdrop does not read. The file refuses
 * unknown keys, but the environment holds other programs' variables too, so these only warn: a
 * mistyped port range setting must not go unnoticed.
 */
export function unknownEnvironmentVariables(env: NodeJS.ProcessEnv): UnknownVariable[] {
  return Object.keys(env)
    .filter((k) => k.startsWith('ROSTERDROP_') && !KNOWN.has(k) && k !== 'ROSTERDROP_CONFIG')
    .sort()
    .map((name) => ({ name, closest: closestSetting(name) }));
}

export function unknownVariableMessage(u: UnknownVariable): string {
  return `${u.name} is not a rosterdrop setting and is ignored${u.closest ? ` (did you mean ${u.closest}?)` : ''}`;
}

function withSuggestion(name: string): string {
  const closest = closestSetting(name);
  return closest ? `${name} (did you mean ${closest}?)` : name;
}

/**
 * The known setting with the smallest edit distance to `name`, if that is at most a third of the
 * name's length after the shared `ROSTERDROP_` (else it is another name, not a typo).
 */
export function closestSetting(name: string): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const known of KNOWN_SETTINGS) {
    const d = editDistance(name.toUpperCase(), known);
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  const own = name.replace(/^ROSTERDROP_/i, '').length;
  return best !== null && bestDistance <= Math.max(1, Math.floor(own / 3)) ? best : null;
}

/** Levenshtein distance (insertions, deletions, substitutions), two rows at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
