/**
 * Streams one OneRoster data file into validated row batches.
 *
 * bytes → LineSplitter → RecordAssembler → header check (first record) → validateRow → batches.
 * The generator is pulled by its consumer: while a batch is being processed, no more input is
 * read, so memory stays flat whatever the file size.
 *
 * Memory note for consumers: the values of ok rows are V8 slices of a ~64 KiB decoded chunk (that
 * is what makes parsing fast). Writing them out and dropping them is free; keeping a few of them
 * for the whole sync (e.g. in a Map) pins their chunks: copy such values with `detach()` from
 * csv/line-splitter. Issues and the sourcedIds of rejected rows are already detached.
 */
import type { Readable } from 'node:stream';
import { IssueSink, StructuralError, type SyncIssue } from './issues';
import type { FileSchema, ParsedRow } from './types';
import { LineSplitter, DEFAULT_MAX_LINE_BYTES, detach } from './csv/line-splitter';
import { RecordAssembler, type RecordProblem } from './csv/fields';
import { checkHeader } from './header-check';
import { headerMissingIssue, noRowsIssue } from './structure';
import { rowContext, validateRow, type RowContext } from './validate-row';

export interface ReadCsvOptions {
  /**
   * rows per yielded batch; default 500. Small batches keep few rows alive when the young
   * generation is collected, and that collection copies every live one: the read phase of a
   * 1M-enrollment sync alone took 9.0–10.8 s with batches of 2000 and 6.8–8.3 s with 500 (A/B).
   */
  batchSize?: number;
  /** longest accepted line in bytes; default 64 KiB */
  maxLineBytes?: number;
}

export async function* readCsv(
  input: Readable,
  schema: FileSchema,
  mode: 'bulk' | 'delta',
  issues: IssueSink,
  opts: ReadCsvOptions = {},
): AsyncGenerator<ParsedRow[]> {
  const reader = new CsvFileReader(schema, mode, issues, opts);
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    yield* reader.takeReady();
  }
  reader.end();
  yield* reader.takeReady();
}

class CsvFileReader {
  private ready: ParsedRow[][] = [];
  private batch: ParsedRow[] = [];
  private rows = 0;
  private ctx: RowContext | null = null;
  private headerNames: readonly string[] = [];
  /** a run of blank lines is reported only if a record follows it (trailing ones are harmless) */
  private blankFrom = 0;
  private blankTo = 0;
  private readonly batchSize: number;
  private readonly splitter: LineSplitter;
  private readonly assembler: RecordAssembler;

  constructor(
    private readonly schema: FileSchema,
    private readonly mode: 'bulk' | 'delta',
    private readonly issues: IssueSink,
    opts: ReadCsvOptions,
  ) {
    this.batchSize = Math.max(1, opts.batchSize ?? 500);
    const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.assembler = new RecordAssembler(this.onRecord, { maxLineBytes, maxRecordChars: maxLineBytes });
    this.splitter = new LineSplitter(this.assembler.push, maxLineBytes);
  }

  push(chunk: Buffer): void {
    this.splitter.push(chunk);
  }

  end(): void {
    this.splitter.end();
    this.assembler.end();
    // the engine's structure check (structure.ts) finds these first; other callers read files alone
    if (this.ctx === null) this.fatal(headerMissingIssue(this.schema.fileName, null));
    if (this.rows === 0 && this.mode === 'bulk') this.fatal(noRowsIssue(this.schema, true));
    if (this.batch.length > 0) {
      this.ready.push(this.batch);
      this.batch = [];
    }
  }

  takeReady(): ParsedRow[][] {
    const out = this.ready;
    if (out.length > 0) this.ready = [];
    return out;
  }

  private readonly onRecord = (line: number, fields: string[], problems: RecordProblem[] | null): void => {
    const ctx = this.ctx;
    if (ctx === null) {
      this.onHeader(line, fields, problems);
      return;
    }
    if (problems === null) {
      if (fields.length === 1 && fields[0] === '') {
        if (this.blankFrom === 0) this.blankFrom = line;
        this.blankTo = line;
        return;
      }
      if (this.blankFrom !== 0) this.reportBlankLines();
      this.add(validateRow(fields, line, ctx, this.issues));
      return;
    }
    if (this.blankFrom !== 0) this.reportBlankLines();
    this.add(this.rejected(line, fields, problems));
  };

  private onHeader(line: number, fields: string[], problems: RecordProblem[] | null): void {
    if (problems !== null) {
      // An unreadable header line (bad quoting, encoding, length) makes the whole file unusable.
      const found = problems.map((p) => this.problemIssue(p, ''));
      for (const issue of found) this.issues.add(issue);
      throw new StructuralError(found[0]);
    }
    if (fields.length === 1 && fields[0] === '') this.fatal(headerMissingIssue(this.schema.fileName, line));
    const { extensionColumns } = checkHeader(fields, this.schema, this.issues);
    this.headerNames = fields;
    this.ctx = rowContext(this.schema, this.mode, extensionColumns);
  }

  /** A record the CSV layer could not read cleanly: report why and pass it on rejected. */
  private rejected(line: number, fields: string[], problems: RecordProblem[]): ParsedRow {
    const sourcedId = detach(fields[0] ?? '');
    for (const p of problems) this.issues.add(this.problemIssue(p, sourcedId));
    const defined = this.schema.columns.length;
    const values = fields.slice(0, defined);
    while (values.length < defined) values.push('');
    return { line, ok: false, sourcedId, values, metadata: null };
  }

  private problemIssue(p: RecordProblem, sourcedId: string): SyncIssue {
    const file = this.schema.fileName;
    const column = p.column === null ? null : this.headerNames[p.column - 1] ?? null;
    const where = p.column === null ? '' : `, column ${p.column}${column ? ` (${column})` : ''}`;
    return {
      severity: 'error', code: p.code, file, line: p.line, column, sourcedId: sourcedId || null,
      message: detach(`${file} line ${p.line}${where}: ${p.detail}`),
    };
  }

  private reportBlankLines(): void {
    const { blankFrom: from, blankTo: to } = this;
    this.blankFrom = 0;
    const file = this.schema.fileName;
    const which = from === to ? `line ${from} is` : `lines ${from}-${to} are`;
    this.issues.warning('csv.row_width', { file, line: from },
      `${file} ${which} blank (no fields); ignored. Remove blank lines between rows.`);
  }

  private add(row: ParsedRow): void {
    this.rows++;
    this.batch.push(row);
    if (this.batch.length >= this.batchSize) {
      this.ready.push(this.batch);
      this.batch = [];
    }
  }

  private fatal(issue: SyncIssue): never {
    this.issues.add(issue);
    throw new StructuralError(issue);
  }
}
