/**
 * The command table. Commands whose ftp-srv handlers are sound are reused as they are; the rest
 * are ours. Everything else (SITE, MKD, RMD, RNFR/RNTO, APPE, STOU, REST, …) is not implemented:
 * uploads are whole files, written atomically, and nothing may change modes or folders.
 */
import { describe, type CommandHandler } from '../connection';
import { ftpSrvRegistry } from '../ftp-srv-internals';
import { pass, user } from './login';
import { auth, feat, help, pbsz, prot } from './session';
import { abor, active, epsv, listLong, listNames, pasv, retr, stor } from './transfer';

/** Commands that mean nothing without an argument; stock handlers threw on some (defect 12). */
const NEEDS_ARGUMENT = new Set(['AUTH', 'PBSZ', 'PROT', 'OPTS', 'CWD', 'XCWD', 'DELE', 'SIZE', 'MDTM', 'TYPE', 'MODE', 'STRU', 'RETR', 'STOR', 'PORT', 'EPRT']);

/** ftp-srv's handler for a directive, replying 500 if it throws instead of replying. */
function reused(directive: string): CommandHandler {
  const registration = ftpSrvRegistry[directive];
  if (!registration) throw new Error(`ftp-srv has no ${directive} handler`);
  return async (conn, command) => {
    try {
      await registration.handler.call(conn, { log: conn.log, command, previous_command: {} });
    } catch (err) {
      conn.logger.debug('command failed', { directive, error: describe(err) });
      await conn.reply(500, 'Command failed');
    }
  };
}

const OURS: Record<string, CommandHandler> = {
  AUTH: auth, PBSZ: pbsz, PROT: prot, FEAT: feat, HELP: help, USER: user, PASS: pass,
  PASV: pasv, EPSV: epsv, PORT: active, EPRT: active, LIST: listLong, NLST: listNames, RETR: retr, STOR: stor, ABOR: abor,
  CLNT: (conn) => conn.reply(200, 'Noted'),
};

const REUSED = ['SYST', 'NOOP', 'TYPE', 'MODE', 'STRU', 'PWD', 'XPWD', 'CWD', 'XCWD', 'CDUP', 'XCUP', 'OPTS', 'SIZE', 'MDTM', 'DELE', 'QUIT'];

function withArgumentCheck(directive: string, handler: CommandHandler): CommandHandler {
  if (!NEEDS_ARGUMENT.has(directive)) return handler;
  return (conn, command) => (command.arg === null || command.arg.trim() === ''
    ? conn.reply(501, `${directive} needs an argument`)
    : handler(conn, command));
}

export function commandHandlers(): ReadonlyMap<string, CommandHandler> {
  const table = new Map<string, CommandHandler>();
  for (const directive of REUSED) table.set(directive, withArgumentCheck(directive, reused(directive)));
  for (const [directive, handler] of Object.entries(OURS)) table.set(directive, withArgumentCheck(directive, handler));
  return table;
}
