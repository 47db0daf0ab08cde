/**
 * Which commands a connection may run in its current state. Stock ftp-srv accepted USER/PASS/STOR
 * in clear text (defect 3) and data without PROT P; this gate runs before every handler.
 */

export interface SessionState {
  secure: boolean;
  authenticated: boolean;
  /** PBSZ 0 then PROT P */
  protectedData: boolean;
}

export type GateDecision = { allow: true } | { allow: false; code: number; message: string };

/** Allowed before TLS (RFC 4217 §4): negotiation and harmless queries only. */
const BEFORE_TLS = new Set(['AUTH', 'FEAT', 'SYST', 'NOOP', 'QUIT', 'HELP']);
/** Allowed after TLS but before login. */
const BEFORE_LOGIN = new Set([...BEFORE_TLS, 'USER', 'PASS', 'PBSZ', 'PROT', 'OPTS', 'CLNT']);
/** Commands that open a data connection. */
const DATA = new Set(['PASV', 'EPSV', 'PORT', 'EPRT', 'LIST', 'NLST', 'RETR', 'STOR']);

export function gateCommand(directive: string, state: SessionState): GateDecision {
  if (!state.secure && !BEFORE_TLS.has(directive)) {
    return { allow: false, code: 530, message: 'TLS required: send AUTH TLS first' };
  }
  if (!state.authenticated && !BEFORE_LOGIN.has(directive)) {
    return { allow: false, code: 530, message: 'Please log in with USER and PASS' };
  }
  if (DATA.has(directive) && !state.protectedData) {
    return { allow: false, code: 521, message: 'Data connections must be protected: send PBSZ 0 and PROT P' };
  }
  return { allow: true };
}
