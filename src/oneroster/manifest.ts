/**
 * Reads and checks manifest.csv (§2): versions, one mode per data file, and the consistency
 * between the modes and the files actually in the zip. Every problem is recorded; if any is
 * fatal, a StructuralError carrying the first fatal one is thrown after all are recorded.
 */
import { IssueSink, StructuralError, type IssueCode, type Severity, type SyncIssue } from './issues';
import { APPLIED_FILES, BULK_UPLOAD_FILES, DATA_FILES, isDeltaUpload, type DataFile, type FileMode, type Manifest } from './types';
import { FILE_MODES, MANIFEST_FILE_NAME, MANIFEST_HEADER } from './schemas';
import { LineSplitter } from './csv/line-splitter';
import { RecordAssembler, type RecordProblem } from './csv/fields';
import type { RosterZip } from './zip-reader';

const FILE = MANIFEST_FILE_NAME;
/** A real manifest has about 17 rows; anything far beyond is not a manifest worth reading on. */
const MAX_ROWS = 1000;
const KNOWN_PROPERTIES: readonly string[] = ['manifest.version', 'oneroster.version', ...DATA_FILES.map((f) => `file.${f}`)];

interface ManifestRecord {
  line: number;
  fields: string[];
  problems: RecordProblem[] | null;
}

export async function readManifest(zip: RosterZip, issues: IssueSink): Promise<Manifest> {
  const fatals: SyncIssue[] = [];
  const report = (severity: Severity, code: IssueCode, line: number | null, column: string | null, text: string): void => {
    const where = line === null ? FILE : `${FILE} line ${line}`;
    const issue: SyncIssue = { severity, code, file: FILE, line, column, sourcedId: null, message: `${where}: ${text}` };
    issues.add(issue);
    if (severity === 'error') fatals.push(issue);
  };
  const stopIfFatal = (): void => {
    if (fatals.length > 0) throw new StructuralError(fatals[0]);
  };

  if (!zip.has(FILE)) {
    const variant = zip.ignoredFileNames().find((n) => n.toLowerCase().endsWith(FILE));
    report('error', 'manifest.missing', null, null,
      'the zip has no manifest.csv at its root' +
      (variant ? ` (it has "${variant}"; the name must be exactly manifest.csv, at the root).` : '. Every OneRoster zip needs one.'));
    stopIfFatal();
  }

  const records = await readRecords(zip, issues);
  const header = records.shift();
  if (header === undefined || header.problems !== null
    || header.fields.length !== 2 || header.fields[0] !== MANIFEST_HEADER[0] || header.fields[1] !== MANIFEST_HEADER[1]) {
    const found = header === undefined ? 'an empty file' : `"${header.fields.join(',')}"`;
    const hint = header?.fields[1] === 'propertyValue' ? ' The second column is named "value", not "propertyValue".' : '';
    report('error', 'manifest.header', 1, null, `the header must be exactly "propertyName,value"; found ${found}.${hint}`);
    stopIfFatal();
  }

  // Collect the properties; the first occurrence of a name wins.
  const properties = new Map<string, string>();
  const lineOf = new Map<string, number>();
  for (const rec of records) {
    const { line, fields } = rec;
    if (rec.problems !== null) {
      for (const p of rec.problems) report('error', p.code, p.line, null, p.detail);
      continue;
    }
    if (fields.length === 1 && fields[0] === '') continue; // blank line
    if (fields.length !== 2) {
      const surplusBlank = fields.length > 2 && fields.slice(2).every((f) => f === '');
      if (!surplusBlank) {
        report('error', 'csv.row_width', line, null, `the row has ${fields.length} fields; manifest rows have exactly 2 (propertyName,value)`);
        continue;
      }
      report('warning', 'csv.row_width', line, null, `the row has ${fields.length} fields; the extra blank ones are ignored (a trailing comma?)`);
    }
    const [name, value] = fields;
    const earlier = properties.get(name);
    if (earlier !== undefined) {
      const same = earlier === value;
      report(same ? 'warning' : 'error', 'manifest.duplicate_property', line, 'propertyName',
        `${name} is listed again (first on line ${lineOf.get(name)})` +
        (same ? ' with the same value; the repeat is ignored' : `, with "${value}" instead of "${earlier}"; which one is meant is unclear`));
      continue;
    }
    properties.set(name, value);
    lineOf.set(name, line);
    if (!KNOWN_PROPERTIES.includes(name) && !name.startsWith('source.')) {
      const guess = suggest(name);
      report('warning', 'manifest.unknown_property', line, 'propertyName',
        `"${name}" is not a OneRoster 1.1 manifest property and is ignored${guess ? `; did you mean "${guess}"?` : ''}`);
    }
  }

  checkVersion(properties, lineOf, report);
  const modes = readModes(properties, lineOf, report);
  checkAgainstZip(zip, modes, properties, lineOf, report);
  stopIfFatal();
  return { modes, properties };
}

type Report = (severity: Severity, code: IssueCode, line: number | null, column: string | null, text: string) => void;

function checkVersion(properties: Map<string, string>, lineOf: Map<string, number>, report: Report): void {
  const manifestVersion = properties.get('manifest.version');
  if (manifestVersion === undefined) {
    report('error', 'manifest.version', null, null, 'the manifest.version row is missing; add "manifest.version,1.0".');
  } else if (manifestVersion === '1') {
    report('warning', 'manifest.version', lineOf.get('manifest.version') ?? null, 'value',
      'manifest.version is "1"; it should be "1.0" (accepted)');
  } else if (manifestVersion !== '1.0') {
    report('error', 'manifest.version', lineOf.get('manifest.version') ?? null, 'value',
      `manifest.version is "${manifestVersion}"; it must be "1.0"`);
  }

  const version = properties.get('oneroster.version');
  if (version === undefined) {
    report('error', 'manifest.oneroster_version', null, null,
      'the oneroster.version row is missing; rosterdrop needs "oneroster.version,1.1" to know the file layouts.');
  } else if (version !== '1.1') {
    report('error', 'manifest.oneroster_version', lineOf.get('oneroster.version') ?? null, 'value',
      `oneroster.version is "${version}"; rosterdrop reads OneRoster 1.1 only (OneRoster 1.0 and 1.2 layouts are not accepted): ` +
      'export the roster as OneRoster 1.1');
  }
}

function readModes(properties: Map<string, string>, lineOf: Map<string, number>, report: Report): Record<DataFile, FileMode> {
  const modes = {} as Record<DataFile, FileMode>;
  for (const file of DATA_FILES) {
    const name = `file.${file}`;
    const value = properties.get(name);
    modes[file] = 'absent';
    if (value === undefined) {
      report('warning', 'manifest.missing_property', null, null, `the ${name} row is missing; ${file}.csv is treated as absent`);
    } else if ((FILE_MODES as readonly string[]).includes(value)) {
      modes[file] = value as FileMode;
    } else {
      const fold = value.trim().toLowerCase();
      const hint = (FILE_MODES as readonly string[]).includes(fold) ? `; did you mean "${fold}"? (modes are lower-case)` : '';
      report('error', 'manifest.invalid_mode', lineOf.get(name) ?? null, 'value',
        `${name} is "${value}"; a file mode must be bulk, delta or absent${hint}`);
    }
  }
  return modes;
}

function checkAgainstZip(
  zip: RosterZip, modes: Record<DataFile, FileMode>, properties: Map<string, string>, lineOf: Map<string, number>, report: Report,
): void {
  const ignored = zip.ignoredFileNames();
  // A file whose mode is invalid was already reported as fatal; more about it would be noise.
  const invalid = (file: DataFile): boolean => {
    const value = properties.get(`file.${file}`);
    return value !== undefined && !(FILE_MODES as readonly string[]).includes(value);
  };
  for (const file of DATA_FILES) {
    const csv = `${file}.csv`;
    const mode = modes[file];
    const line = lineOf.get(`file.${file}`) ?? null;
    if (invalid(file)) continue;
    if (mode !== 'absent' && !zip.has(csv)) {
      const variant = ignored.find((n) => n.toLowerCase() === csv.toLowerCase());
      report('error', 'manifest.file_missing', line, 'value',
        `file.${file} is ${mode} but the zip has no ${csv} at its root` +
        (variant ? ` (it has "${variant}"; file names are case-sensitive)` : ''));
    }
    if (mode === 'absent' && zip.has(csv)) {
      report('warning', 'manifest.file_unexpected', line, line === null ? null : 'value',
        `${csv} is in the zip but the manifest ${line === null ? 'does not list it' : 'marks it absent'}; it is ignored`);
    }
  }
  // A delta upload (no bulk file) may leave any file out: its references resolve against what
  // earlier syncs sent. A bulk upload replaces the district's roster, so it must carry it.
  if (isDeltaUpload(modes)) {
    if (APPLIED_FILES.every((f) => modes[f] === 'absent' && !invalid(f))) {
      report('warning', 'manifest.nothing_to_apply', null, null,
        `the manifest marks ${APPLIED_FILES.map((f) => `${f}.csv`).join(', ')} absent: this upload changes nothing`);
    }
    return;
  }
  for (const file of BULK_UPLOAD_FILES) {
    if (modes[file] === 'absent' && !invalid(file)) {
      const line = lineOf.get(`file.${file}`) ?? null;
      report('error', 'manifest.required_file', line, line === null ? null : 'value',
        `rosterdrop needs ${file}.csv, as bulk or delta, in an upload that has a bulk file; the manifest ` +
        `${line === null ? `has no file.${file} row` : `marks it absent`}. Only a delta upload (no file bulk) may leave it out`);
    }
  }
  if (modes.courses === 'absent' && !invalid('courses')) {
    const line = lineOf.get('file.courses') ?? null;
    report('warning', 'manifest.courses_absent', line, line === null ? null : 'value',
      'courses.csv is absent: the classes become sections without teacher or term base courses (those need courses.csv), ' +
      'and the courses earlier uploads sent are kept as they were');
  }
}

/** Reads manifest.csv into records (it is small; capped at MAX_ROWS). */
async function readRecords(zip: RosterZip, issues: IssueSink): Promise<ManifestRecord[]> {
  const records: ManifestRecord[] = [];
  let overflow = false;
  const assembler = new RecordAssembler((line, fields, problems) => {
    if (records.length > MAX_ROWS) overflow = true; // the header plus MAX_ROWS rows are kept
    else records.push({ line, fields, problems });
  });
  const splitter = new LineSplitter(assembler.push);
  const stream = await zip.openStream(FILE);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    splitter.push(chunk);
    if (overflow) break; // leaving the loop destroys the stream
  }
  if (overflow) {
    issues.warning('manifest.unknown_property', { file: FILE, line: MAX_ROWS + 2 },
      `${FILE} has more than ${MAX_ROWS} rows; the rest are ignored`);
    return records;
  }
  splitter.end();
  assembler.end();
  return records;
}

/** The known property closest to a misspelt one (e.g. fiel.demographics → file.demographics). */
function suggest(name: string): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const known of KNOWN_PROPERTIES) {
    const d = known.toLowerCase() === name.toLowerCase() ? 0 : distance(known, name);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return bestDistance <= 3 ? best : null;
}

/** Levenshtein distance; both strings are short property names. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
