/**
 * FTP control-channel framing. ftp-srv split each TCP segment on CRLF (a command split across
 * segments broke), ran the pieces concurrently, stripped every `"` and dropped `-x` words from
 * arguments (defect 13 in docs/ftp-srv-defects.md). Here commands are whole lines however the bytes
 * arrive, with a length cap, and the argument is verbatim: a password `pa"ss -x` arrives as typed.
 */
import type { FtpCommand } from './ftp-srv-internals';

export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`command line longer than ${limit} bytes`);
  }
}

/**
 * Holds a connection's unread input and hands it out a line at a time, when the connection is ready
 * for the next command: pipelined lines wait here as bytes, never as parsed commands (issue 17: a
 * flood of `HELP` lines became millions of queued commands). The connection bounds `buffered`.
 */
export class LineBuffer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
  }

  /** bytes held: lines not taken yet and an unfinished one */
  get buffered(): number {
    return this.pending.length;
  }

  /**
   * The next complete line (CRLF or a bare LF), without its terminator, or null; throws when a line
   * is too long, also before its end arrives.
   */
  next(): Buffer | null {
    const nl = this.pending.indexOf(0x0a);
    if (nl === -1) {
      if (this.pending.length > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
      return null;
    }
    const end = nl > 0 && this.pending[nl - 1] === 0x0d ? nl - 1 : nl;
    if (end > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
    const line = this.pending.subarray(0, end);
    this.pending = this.pending.subarray(nl + 1);
    return line;
  }

  /** Everything after the lines taken so far, as it arrived; the buffer is empty afterwards (AUTH TLS). */
  takeRest(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }
}

/** Telnet IAC sequences some clients send before ABOR (RFC 959 §4.1.3). */
const TELNET_NOISE = /^(?:\u00ff[\u00f0-\u00ff])+/;

/** `DIRECTIVE argument`: the directive upper-cased, the argument after one space taken as is. */
export function parseCommand(line: string): FtpCommand {
  const text = line.replace(TELNET_NOISE, '');
  const space = text.indexOf(' ');
  const directive = (space === -1 ? text : text.slice(0, space)).trim().toUpperCase();
  const arg = space === -1 ? '' : text.slice(space + 1);
  return { directive, arg: arg === '' ? null : arg, flags: [], raw: text };
}

/** LIST/NLST take `ls`-style options (`LIST -la`) that are not paths. */
export function stripListOptions(arg: string | null): string | null {
  if (arg === null) return null;
  const rest = arg.replace(/^(?:-[A-Za-z]+\s*)+/, '');
  return rest === '' ? null : rest;
}
