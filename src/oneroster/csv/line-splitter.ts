/**
 * Bytes → lines. Strips one leading UTF-8 BOM, accepts LF and CRLF, numbers lines from 1, caps
 * the line length and flags lines that are not valid UTF-8.
 *
 * Speed comes from working on whole chunks: the complete lines of a chunk are UTF-8 checked and
 * decoded in one call each and split with String#split; only a line that straddles two chunks,
 * or a chunk holding invalid UTF-8, takes the slower per-line path.
 */
import { isUtf8 } from 'node:buffer';

/** What is wrong with a line as bytes; the line is still delivered (decoded lossily / truncated). */
export type LineFlaw = 'encoding' | 'too_long' | null;

/** Receives each line without its terminator, in order. */
export type LineHandler = (text: string, lineNo: number, flaw: LineFlaw) => void;

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** the unfinished line passed maxLineBytes: its further bytes are dropped until its end */
  private overflow = false;
  private lineNo = 0;

  constructor(
    private readonly onLine: LineHandler,
    readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES,
  ) {}

  /** Number of lines delivered so far (= the number of the last one). */
  get lines(): number {
    return this.lineNo;
  }

  push(chunk: Buffer): void {
    let start = 0;
    if (this.carryBytes > 0 || this.overflow) {
      const nl = chunk.indexOf(LF);
      if (nl === -1) {
        this.addCarry(chunk);
        return;
      }
      this.addCarry(chunk.subarray(0, nl));
      this.flushCarry();
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(LF);
    if (last >= start) {
      this.emitLines(chunk, start, last);
      start = last + 1;
    }
    if (start < chunk.length) this.addCarry(chunk.subarray(start));
  }

  /** Delivers a last line that has no terminator. */
  end(): void {
    if (this.carryBytes > 0 || this.overflow) this.flushCarry();
  }

  /** Bytes [start, end) hold complete lines separated by LF (the LF at `end` is excluded). */
  private emitLines(chunk: Buffer, start: number, end: number): void {
    const region = chunk.subarray(start, end);
    if (!isUtf8(region)) {
      this.emitLinesSlow(region);
      return;
    }
    const lines = region.toString('utf8').split('\n');
    const max = this.maxLineBytes;
    for (let i = 0; i < lines.length; i++) {
      let text = lines[i];
      if (text.charCodeAt(text.length - 1) === CR) text = text.slice(0, -1);
      // A UTF-16 unit is at most 3 UTF-8 bytes, so only long strings need an exact byte count.
      if (text.length * 3 > max && Buffer.byteLength(text, 'utf8') > max) {
        this.deliver(Buffer.from(text, 'utf8').subarray(0, max).toString('utf8'), 'too_long');
      } else {
        this.deliver(text, null);
      }
    }
  }

  /** Some line in the region is not UTF-8: check line by line to flag exactly those. */
  private emitLinesSlow(region: Buffer): void {
    let pos = 0;
    for (;;) {
      const nl = region.indexOf(LF, pos);
      const stop = nl === -1 ? region.length : nl;
      this.deliverBytes(region.subarray(pos, stop), false);
      if (nl === -1) return;
      pos = nl + 1;
    }
  }

  private addCarry(bytes: Buffer): void {
    if (this.overflow || bytes.length === 0) return;
    const room = this.maxLineBytes + 1 - this.carryBytes; // +1 keeps a possible CR of a max-length line
    if (bytes.length > room) {
      bytes = bytes.subarray(0, room);
      this.overflow = true;
    }
    // Copy: the caller's chunk must not be kept alive (or mutated under us) by a small tail.
    this.carry.push(Buffer.from(bytes));
    this.carryBytes += bytes.length;
  }

  private flushCarry(): void {
    const bytes = this.carry.length === 1 ? this.carry[0] : Buffer.concat(this.carry, this.carryBytes);
    const overflow = this.overflow;
    this.carry = [];
    this.carryBytes = 0;
    this.overflow = false;
    this.deliverBytes(bytes, overflow);
  }

  private deliverBytes(line: Buffer, overflow: boolean): void {
    let bytes = line;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR && !overflow) bytes = bytes.subarray(0, -1);
    if (overflow || bytes.length > this.maxLineBytes) {
      this.deliver(bytes.subarray(0, this.maxLineBytes).toString('utf8'), 'too_long');
    } else if (!isUtf8(bytes)) {
      this.deliver(bytes.toString('utf8'), 'encoding');
    } else {
      this.deliver(bytes.toString('utf8'), null);
    }
  }

  private deliver(text: string, flaw: LineFlaw): void {
    this.lineNo++;
    if (this.lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    this.onLine(text, this.lineNo, flaw);
  }
}

/** The sentence a reader puts after "users.csv line 7: " for a flawed line. */
export function describeLineFlaw(flaw: Exclude<LineFlaw, null>, maxLineBytes: number): string {
  return flaw === 'encoding'
    ? 'the line is not valid UTF-8; save the file as UTF-8 (e.g. "CSV UTF-8" in Excel)'
    : `the line is longer than ${maxLineBytes} bytes and is rejected`;
}

/**
 * A copy of `text` that shares no memory with the chunk it was cut from.
 *
 * Lines are cut from one decoded string per chunk, and fields from lines, so V8 keeps them as
 * slices of that ~64 KiB string: keeping one field alive keeps the whole chunk alive. Anything
 * that outlives the row (issues, the sourcedIds of rejected rows) is detached with this. Only
 * for such rare paths: it costs a UTF-8 round trip.
 */
export function detach(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
