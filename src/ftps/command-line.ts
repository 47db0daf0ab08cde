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

/** Collects bytes into lines (CRLF or a bare LF); holds at most `maxLineBytes` of an open line. */
export class LineBuffer {
  private pending = Buffer.alloc(0);
  /** the bytes of the last push (with what was pending) and where each of its lines ended */
  private last: Buffer = Buffer.alloc(0);
  private ends: number[] = [];

  constructor(private readonly maxLineBytes: number) {}

  /** Lines completed by this chunk, without their terminators; throws when a line is too long. */
  push(chunk: Buffer): Buffer[] {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const lines: Buffer[] = [];
    this.last = data;
    this.ends = [];
    for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a)) {
      const end = nl > 0 && data[nl - 1] === 0x0d ? nl - 1 : nl;
      if (end > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
      lines.push(data.subarray(0, end));
      data = data.subarray(nl + 1);
      this.ends.push(this.last.length - data.length);
    }
    if (data.length > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
    this.pending = Buffer.from(data);
    return lines;
  }

  /** The bytes that came after line `index` of the last push, as they arrived. */
  restAfter(index: number): Buffer {
    return Buffer.from(this.last.subarray(this.ends[index]));
  }

  /** Forgets buffered bytes: plaintext that followed AUTH TLS must never run inside TLS. */
  discard(): void {
    this.pending = Buffer.alloc(0);
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
