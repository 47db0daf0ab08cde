/** lftp as a real FTPS client (GnuTLS, FileZilla's TLS library), logged in as the fixture's administrator. */
import { ADMIN_LOGIN, ADMIN_PASSWORD, run, type FtpsFixture, type RunResult } from './ftps';

export const lftpQuote = (s: string): string => `"${s.replace(/(["\\])/g, '\\$1')}"`;

const LFTP_SETTINGS = [
  'set ssl:verify-certificate no', 'set ftp:ssl-force true', 'set ftp:ssl-protect-data true',
  // No silent retries: a failed attempt must fail the run, not be repeated behind our back.
  'set net:max-retries 1', 'set net:timeout 15', 'set cmd:fail-exit true',
];

/** Runs `commands` in one lftp session (the password comes from the environment, never argv). */
export function lftp(fx: FtpsFixture, commands: string[]): Promise<RunResult> {
  const script = [...LFTP_SETTINGS, `open --env-password -u ${lftpQuote(ADMIN_LOGIN)} ftp://127.0.0.1:${fx.port}`, ...commands].join('; ');
  return run('lftp', ['-c', script], { env: { LFTP_PASSWORD: ADMIN_PASSWORD, HOME: fx.dataDir }, timeoutMs: 40_000 });
}
