/**
 * The structural check of an upload's data files, before anything is staged: each present file is
 * read only up to its header and first data record, so that one failed run names every empty
 * file, broken header and header-only bulk file, not just the first one the reader meets.
 */
import type { Readable } from 'node:stream';
import { IssueSink, StructuralError, type SyncIssue } from './issues';
import { checkHeader } from './header-check';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, detach } from './csv/line-splitter';
import { RecordAssembler, type RecordProblem } from './csv/fields';
import { SCHEMAS } from './schemas';
import { APPLIED_FILES, DATA_FILES, type DataFile, type FileMode, type FileSchema } from './types';
import type { RosterZip } from './zip-reader';

export interface FileStart {
  /** the first structural error of the file (already recorded), or null */
  problem: SyncIssue | null;
  /** whether a data record follows the header (blank lines do not count) */
  hasRows: boolean;
}

/**
 * Checks every present data file's start and records every problem; throws a StructuralError
 * carrying the first error once all files were looked at. Returns the header-only files: a
 * header-only file rosterdrop does not apply is only a warning in bulk mode, and needs no
 * further reading.
 */
export async function checkUploadStructure(zip: RosterZip, modes: Record<DataFile, FileMode>, issues: IssueSink): Promise<Set<DataFile>> {
  const errors: SyncIssue[] = [];
  const headerOnly = new Set<DataFile>();
  const applied: readonly DataFile[] = APPLIED_FILES;
  for (const file of [...applied, ...DATA_FILES.filter((f) => !applied.includes(f))]) {
    const mode = modes[file];
    if (mode === 'absent') continue;
    const schema = SCHEMAS[file];
    const start = await checkFileStart(await zip.openStream(schema.fileName), schema, issues);
    if (start.problem) errors.push(start.problem);
    if (start.problem || start.hasRows) continue;
    headerOnly.add(file);
    if (mode !== 'bulk') continue; // a delta without changes
    const issue = noRowsIssue(schema, applied.includes(file));
    issues.add(issue);
    if (issue.severity === 'error') errors.push(issue);
  }
  if (errors.length > 0) throw new StructuralError(errors[0]);
  return headerOnly;
}

/**
 * A header-only bulk file. For a file rosterdrop applies that would mean every record is gone
 * (a header-only users.csv would unshare everyone): refused. Any other file is ignored anyway.
 */
export function noRowsIssue(schema: FileSchema, applied: boolean): SyncIssue {
  const file = schema.fileName;
  const base = { code: 'csv.no_rows' as const, file, line: null, column: null, sourcedId: null };
  return applied
    ? {
      ...base, severity: 'error',
      message: `${file} has a header but no data rows. In a bulk file that would mean every record is gone; ` +
        'if you have no records of this kind, mark the file absent in manifest.csv and leave it out of the zip.',
    }
    : {
      ...base, severity: 'warning',
      message: `${file} has a header but no data rows; rosterdrop does not apply ${file}, so nothing is lost. ` +
        'A file without records should be marked absent in manifest.csv and left out of the zip.',
    };
}

/** A file with no header row at all (line null) or whose first line is blank. */
export function headerMissingIssue(file: string, blankLine: number | null): SyncIssue {
  return {
    severity: 'error', code: 'csv.header_missing', file, line: blankLine, column: null, sourcedId: null,
    message: blankLine === null
      ? `${file} is empty: it has no header row. Every OneRoster file starts with its header line.`
      : `${file} line ${blankLine} is blank: the header row must be the first line of the file.`,
  };
}

/** Reads one file up to its header and first data record, recording what is wrong with its start. */
export async function checkFileStart(input: Readable, schema: FileSchema, issues: IssueSink, maxLineBytes = DEFAULT_MAX_LINE_BYTES): Promise<FileStart> {
  const file = schema.fileName;
  let header = true;
  let done = false;
  const result: FileStart = { problem: null, hasRows: false };
  const fail = (issue: SyncIssue): void => {
    issues.add(issue);
    result.problem = issue;
    done = true;
  };
  const onRecord = (line: number, fields: string[], problems: RecordProblem[] | null): void => {
    if (done) return;
    if (!header) {
      if (problems === null && fields.length === 1 && fields[0] === '') return; // a blank line
      result.hasRows = true; // even an unreadable record is a row: the reader reports it
      done = true;
      return;
    }
    header = false;
    if (problems !== null) {
      // an unreadable header line (bad quoting, encoding, length) makes the whole file unusable
      const found = problems.map((p) => headerProblem(file, p));
      for (const issue of found) issues.add(issue);
      result.problem = found[0];
      done = true;
    } else if (fields.length === 1 && fields[0] === '') {
      fail(headerMissingIssue(file, line));
    } else {
      try {
        checkHeader(fields, schema, issues);
      } catch (err) {
        if (!(err instanceof StructuralError)) throw err;
        result.problem = err.issue; // checkHeader recorded every problem of the header
        done = true;
      }
    }
  };
  const assembler = new RecordAssembler(onRecord, { maxLineBytes, maxRecordChars: maxLineBytes });
  const splitter = new LineSplitter(assembler.push, maxLineBytes);
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    splitter.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    if (done) break; // leaving the loop destroys the stream: the rest is read later, once
  }
  if (!done) {
    splitter.end();
    assembler.end();
  }
  if (header) {
    fail(headerMissingIssue(file, null));
  }
  return result;
}

function headerProblem(file: string, p: RecordProblem): SyncIssue {
  const where = p.column === null ? '' : `, column ${p.column}`;
  return {
    severity: 'error', code: p.code, file, line: p.line, column: null, sourcedId: null,
    message: detach(`${file} line ${p.line}${where}: ${p.detail}`),
  };
}
