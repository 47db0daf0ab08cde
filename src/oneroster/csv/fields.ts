/**
 * One line → fields (RFC 4180 quoting), and lines → records.
 *
 * A field is quoted only if it starts with `"`; inside quotes `""` is a quote. A quote anywhere
 * else, or text after a closing quote, is a `csv.quote` problem. A line that ends inside an open
 * quote means a line break inside a field, which OneRoster forbids: RecordAssembler joins the
 * following line(s) so later records stay aligned, and reports `csv.line_break_in_field` once.
 *
 * Most lines hold no quote at all; they are split with String#split, which is far faster than
 * any hand-written scanner. Quoted lines are scanned with indexOf, never char by char.
 */
import type { LineFlaw } from './line-splitter';
import { describeLineFlaw, DEFAULT_MAX_LINE_BYTES } from './line-splitter';

export interface FieldProblem {
  /** 1-based field number */
  column: number;
  detail: string;
}

export interface FieldSplit {
  /** best effort even when there is a problem, so a rejected row still has its sourcedId */
  fields: string[];
  /** the first stray quote or text after a closing quote */
  problem: FieldProblem | null;
  /** 1-based column of a quoted field the line ends inside (it may go on on the next line); 0 if none */
  open: number;
}

const QUOTE = 0x22;
const COMMA = 0x2c;

export function splitFields(line: string): FieldSplit {
  if (line.indexOf('"') === -1) return { fields: line.split(','), problem: null, open: 0 };
  return splitQuoted(line);
}

function splitQuoted(line: string): FieldSplit {
  const fields: string[] = [];
  const n = line.length;
  let problem: FieldProblem | null = null;
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === QUOTE) {
      const column = fields.length + 1;
      let value = '';
      let pos = i + 1;
      for (;;) {
        const q = line.indexOf('"', pos);
        if (q === -1) {
          // The line ended inside the quotes. Keep what we have for the sourcedId.
          fields.push(value + line.slice(pos));
          return { fields, problem, open: column };
        }
        value += line.slice(pos, q);
        if (line.charCodeAt(q + 1) === QUOTE) {
          value += '"';
          pos = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      if (i < n && line.charCodeAt(i) !== COMMA) {
        // Text after the closing quote: keep it in the value and go on to the next comma.
        problem ??= {
          column,
          detail: 'text follows the closing quote of this field (a quote inside a quoted field must be written "")',
        };
        const c = line.indexOf(',', i);
        value += line.slice(i, c === -1 ? n : c);
        i = c === -1 ? n : c;
      }
      fields.push(value);
      if (i >= n) return { fields, problem, open: 0 };
      i++; // past the comma; a comma at the very end yields one more (empty) field
    } else {
      const c = line.indexOf(',', i);
      const end = c === -1 ? n : c;
      const raw = line.slice(i, end);
      if (problem === null && raw.indexOf('"') !== -1) {
        const column = fields.length + 1;
        problem = {
          column,
          detail: 'a quote appears inside a field that does not start with one ' +
            '(quote the whole field and write each quote inside it as "")',
        };
      }
      fields.push(raw);
      if (c === -1) return { fields, problem, open: 0 };
      i = c + 1;
    }
  }
}

export type RecordProblemCode = 'csv.quote' | 'csv.line_break_in_field' | 'csv.encoding' | 'csv.line_too_long';

export interface RecordProblem {
  code: RecordProblemCode;
  /** 1-based field number, or null for the whole line */
  column: number | null;
  /** physical line the problem is on */
  line: number;
  /** a sentence without location, e.g. to put after "users.csv line 7, column 5 (orgSourcedIds): " */
  detail: string;
}

/** Receives one record: its first line, its fields, and its problems (null when clean). */
export type RecordHandler = (line: number, fields: string[], problems: RecordProblem[] | null) => void;

export interface AssemblerOptions {
  /** the most physical lines one record may span before the open quote is deemed a stray one */
  maxJoinedLines?: number;
  /** the most characters a joined record may hold */
  maxRecordChars?: number;
  /** for the too-long message */
  maxLineBytes?: number;
}

interface Pending {
  texts: string[];
  lines: number[];
  flaws: LineFlaw[];
  chars: number;
  /** the column whose quote opened on the first line */
  open: number;
}

/** Lines → records, joining lines across a line break inside a quoted field. */
export class RecordAssembler {
  private pending: Pending | null = null;
  private readonly maxJoinedLines: number;
  private readonly maxRecordChars: number;
  private readonly maxLineBytes: number;

  constructor(private readonly onRecord: RecordHandler, opts: AssemblerOptions = {}) {
    this.maxJoinedLines = opts.maxJoinedLines ?? 20;
    this.maxRecordChars = opts.maxRecordChars ?? DEFAULT_MAX_LINE_BYTES;
    this.maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** Bound to be passed straight to LineSplitter. */
  readonly push = (text: string, lineNo: number, flaw: LineFlaw): void => {
    if (this.pending !== null) {
      this.continuePending(text, lineNo, flaw);
      return;
    }
    // The common case, without the FieldSplit object: a clean line with no quote at all.
    if (flaw === null && text.indexOf('"') === -1) {
      this.onRecord(lineNo, text.split(','), null);
      return;
    }
    const split = splitFields(text);
    if (split.problem === null && split.open === 0 && flaw === null) {
      this.onRecord(lineNo, split.fields, null);
      return;
    }
    // A truncated line cannot be joined meaningfully: it ends where we stopped reading it.
    if (split.open !== 0 && flaw !== 'too_long') {
      this.pending = { texts: [text], lines: [lineNo], flaws: [flaw], chars: text.length, open: split.open };
      return;
    }
    const problems: RecordProblem[] = [];
    if (flaw !== null) problems.push(this.flawProblem(flaw, lineNo));
    if (split.problem !== null) problems.push(quoteProblem(split.problem, lineNo));
    if (split.open !== 0) problems.push(unclosedProblem(split.open, lineNo));
    this.onRecord(lineNo, split.fields, problems);
  };

  /** Call at the end of input: an unfinished record is reported as an unclosed quote. */
  end(): void {
    while (this.pending !== null) this.giveUp();
  }

  private continuePending(text: string, lineNo: number, flaw: LineFlaw): void {
    const p = this.pending as Pending;
    p.texts.push(text);
    p.lines.push(lineNo);
    p.flaws.push(flaw);
    p.chars += text.length + 1;
    const split = splitFields(p.texts.join('\n'));
    if (split.open !== 0) {
      if (p.texts.length >= this.maxJoinedLines || p.chars > this.maxRecordChars) this.giveUp();
      return;
    }
    this.pending = null;
    const first = p.lines[0];
    const opened = p.open;
    const problems: RecordProblem[] = [{
      code: 'csv.line_break_in_field', column: opened, line: first,
      detail: `the quoted field contains a line break and runs on to line ${lineNo}; ` +
        'OneRoster forbids line breaks inside a field, so the row is rejected',
    }];
    p.flaws.forEach((f, k) => { if (f !== null) problems.push(this.flawProblem(f, p.lines[k])); });
    if (split.problem !== null) problems.push(quoteProblem(split.problem, first));
    this.onRecord(first, split.fields, problems);
  }

  /**
   * The quote never closes: it was a stray quote, not a line break. Reject the first line alone
   * and replay the lines after it as records of their own.
   */
  private giveUp(): void {
    const p = this.pending as Pending;
    this.pending = null;
    const first = p.lines[0];
    const split = splitFields(p.texts[0]);
    const problems: RecordProblem[] = [unclosedProblem(p.open, first)];
    if (split.problem !== null) problems.push(quoteProblem(split.problem, first));
    if (p.flaws[0] !== null) problems.push(this.flawProblem(p.flaws[0], first));
    this.onRecord(first, split.fields, problems);
    for (let k = 1; k < p.texts.length; k++) this.push(p.texts[k], p.lines[k], p.flaws[k]);
  }

  private flawProblem(flaw: Exclude<LineFlaw, null>, line: number): RecordProblem {
    return {
      code: flaw === 'encoding' ? 'csv.encoding' : 'csv.line_too_long',
      column: null, line,
      detail: describeLineFlaw(flaw, this.maxLineBytes),
    };
  }
}

function quoteProblem(problem: FieldProblem, line: number): RecordProblem {
  return { code: 'csv.quote', column: problem.column, line, detail: problem.detail };
}

function unclosedProblem(column: number, line: number): RecordProblem {
  return { code: 'csv.quote', column, line, detail: 'the quote that opens this field is never closed' };
}
