/** TLS negotiation and session commands: AUTH, PBSZ, PROT, FEAT, HELP. */
import type { CommandHandler } from '../connection';

/** AUTH arguments that start TLS (`SSL` and `TLS-C` are what some clients send). */
export function isTlsMethod(arg: string | null): boolean {
  return ['TLS', 'SSL', 'TLS-C'].includes((arg ?? '').trim().toUpperCase());
}

export const auth: CommandHandler = async (conn, command) => {
  if (!isTlsMethod(command.arg)) return conn.reply(504, 'Only AUTH TLS is supported');
  if (conn.isSecure) return conn.reply(503, 'TLS is already active');
  conn.startTls();
};

export const pbsz: CommandHandler = (conn, command) => {
  if (!conn.isSecure) return conn.reply(503, 'PBSZ needs TLS');
  conn.pbsz = true;
  return conn.reply(200, command.arg?.trim() === '0' ? 'PBSZ=0' : 'PBSZ=0 (buffer size set to 0)');
};

export const prot: CommandHandler = (conn, command) => {
  if (!conn.pbsz) return conn.reply(503, 'Send PBSZ 0 first');
  switch ((command.arg ?? '').trim().toUpperCase()) {
    case 'P':
      conn.protectedData = true;
      return conn.reply(200, 'Data channel protection level set to P');
    case 'C':
      return conn.reply(534, 'Data connections must be protected: only PROT P is accepted');
    case 'S':
    case 'E':
      return conn.reply(536, 'Only PROT P is supported');
    default:
      return conn.reply(504, 'Unknown protection level');
  }
};

const FEATURES = ['AUTH TLS', 'EPSV', 'MDTM', 'PASV', 'PBSZ', 'PROT', 'SIZE', 'UTF8'];

export const feat: CommandHandler = (conn) =>
  conn.reply(211, 'Extensions supported:', ...FEATURES.map((f) => ({ message: ` ${f}`, raw: true })), 'End');

export const help: CommandHandler = (conn) =>
  conn.reply(214, 'Commands: AUTH PBSZ PROT USER PASS PWD CWD CDUP LIST NLST STOR RETR DELE SIZE MDTM PASV EPSV TYPE NOOP QUIT', 'Help OK');
