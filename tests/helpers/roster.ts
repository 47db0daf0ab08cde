/**
 * A fluent builder of OneRoster 1.1 CSV uploads for engine tests. Headers are written from the
 * specification (the OneRoster 1.1 CSV specification §2–§3), not from the code under test, so a test can
 * catch a wrong schema too. Rows are kept by header name; a test adds, changes or removes rows,
 * switches a file to delta, marks rows tobedeleted, and can break the upload on purpose (raw
 * lines, another header, manifest values, a file left out).
 *
 * Line numbers follow the issue convention: the header is line 1, the first row line 2; raw lines
 * come after the rows.
 */
import * as path from 'node:path';
import { makeZip, type MakeZipOptions } from './zip';

/** The exact OneRoster 1.1 headers (§3), in order. */
export const HEADERS = {
  academicSessions: ['sourcedId', 'status', 'dateLastModified', 'title', 'type', 'startDate', 'endDate', 'parentSourcedId', 'schoolYear'],
  classes: ['sourcedId', 'status', 'dateLastModified', 'title', 'grades', 'courseSourcedId', 'classCode', 'classType', 'location',
    'schoolSourcedId', 'termSourcedIds', 'subjects', 'subjectCodes', 'periods'],
  courses: ['sourcedId', 'status', 'dateLastModified', 'schoolYearSourcedId', 'title', 'courseCode', 'grades', 'orgSourcedId', 'subjects',
    'subjectCodes'],
  demographics: ['sourcedId', 'status', 'dateLastModified', 'birthDate', 'sex', 'americanIndianOrAlaskaNative', 'asian',
    'blackOrAfricanAmerican', 'nativeHawaiianOrOtherPacificIslander', 'white', 'demographicRaceTwoOrMoreRaces', 'hispanicOrLatinoEthnicity',
    'countryOfBirthCode', 'stateOfBirthAbbreviation', 'cityOfBirth', 'publicSchoolResidenceStatus'],
  enrollments: ['sourcedId', 'status', 'dateLastModified', 'classSourcedId', 'schoolSourcedId', 'userSourcedId', 'role', 'primary',
    'beginDate', 'endDate'],
  orgs: ['sourcedId', 'status', 'dateLastModified', 'name', 'type', 'identifier', 'parentSourcedId'],
  users: ['sourcedId', 'status', 'dateLastModified', 'enabledUser', 'orgSourcedIds', 'role', 'username', 'userIds', 'givenName',
    'familyName', 'middleName', 'identifier', 'email', 'sms', 'phone', 'agentSourcedIds', 'grades', 'password'],
} as const;

export type RosterFile = keyof typeof HEADERS;
export type Mode = 'bulk' | 'delta' | 'absent';
export type Row = Record<string, string>;
export type Fields = Partial<Row>;

/** The 13 manifest file properties (§2), in the conventional order. */
const MANIFEST_FILES = ['academicSessions', 'categories', 'classes', 'classResources', 'courses', 'courseResources', 'demographics',
  'enrollments', 'lineItems', 'orgs', 'resources', 'results', 'users'] as const;
const ROSTER_FILES: readonly RosterFile[] = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments', 'demographics'];

export const DELTA_TIME = '2024-09-01T12:00:00.000Z';

/** Quotes a field only when CSV needs it (comma, quote, line break). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvLine(values: readonly string[]): string {
  return values.map(csvField).join(',');
}

interface FileState {
  mode: Mode;
  rows: Row[];
  /** metadata.* extension columns, full names */
  metadata: string[];
  /** raw text lines appended after the rows (no escaping) */
  raw: string[];
  /** replaces the header line as written */
  header?: string;
  /** written with the manifest entry but left out of the zip */
  omitted?: boolean;
}

export class Roster {
  private files = new Map<RosterFile, FileState>();
  private manifest: Array<[string, string]>;
  private extraEntries: Array<[string, string]> = [];

  constructor() {
    for (const f of ROSTER_FILES) this.files.set(f, { mode: f === 'demographics' ? 'absent' : 'bulk', rows: [], metadata: [], raw: [] });
    this.manifest = [['manifest.version', '1.0'], ['oneroster.version', '1.1']];
  }

  clone(): Roster {
    const r = new Roster();
    r.files = new Map([...this.files].map(([k, v]) => [k, { ...v, rows: v.rows.map((x) => ({ ...x })), metadata: [...v.metadata], raw: [...v.raw] }]));
    r.manifest = this.manifest.map(([a, b]) => [a, b]);
    r.extraEntries = this.extraEntries.map(([a, b]) => [a, b]);
    return r;
  }

  private state(file: RosterFile): FileState {
    return this.files.get(file)!;
  }

  // ---- rows ------------------------------------------------------------------------------------

  /** Adds a row (every header column, blank unless given). A duplicate sourcedId is allowed on purpose. */
  add(file: RosterFile, fields: Fields & { sourcedId: string }): this {
    const st = this.state(file);
    if (st.mode === 'absent') st.mode = 'bulk';
    const row: Row = {};
    for (const h of [...HEADERS[file], ...st.metadata]) row[h] = fields[h] ?? '';
    for (const k of Object.keys(fields)) {
      if (!(k in row)) throw new Error(`${file}.csv has no column "${k}"`);
    }
    st.rows.push(row);
    return this;
  }

  org(sid: string, f: Fields = {}): this {
    return this.add('orgs', { name: `Org ${sid}`, type: 'school', ...f, sourcedId: sid });
  }

  session(sid: string, f: Fields = {}): this {
    return this.add('academicSessions', {
      title: `Session ${sid}`, type: 'semester', startDate: '2024-08-15', endDate: '2024-12-20', schoolYear: '2025', ...f, sourcedId: sid,
    });
  }

  course(sid: string, orgSourcedId: string, f: Fields = {}): this {
    return this.add('courses', { title: `Course ${sid}`, orgSourcedId, ...f, sourcedId: sid });
  }

  klass(sid: string, courseSourcedId: string, schoolSourcedId: string, termSourcedIds: string, f: Fields = {}): this {
    return this.add('classes', { title: `Class ${sid}`, courseSourcedId, classType: 'scheduled', schoolSourcedId, termSourcedIds, ...f, sourcedId: sid });
  }

  user(sid: string, orgSourcedIds: string, f: Fields = {}): this {
    return this.add('users', {
      enabledUser: 'true', orgSourcedIds, role: 'student', username: `user.${sid}`, givenName: `Given${sid}`, familyName: `Family${sid}`,
      ...f, sourcedId: sid,
    });
  }

  enrollment(sid: string, classSourcedId: string, userSourcedId: string, schoolSourcedId: string, f: Fields = {}): this {
    return this.add('enrollments', { classSourcedId, schoolSourcedId, userSourcedId, role: 'student', ...f, sourcedId: sid });
  }

  /** Changes the first row with this sourcedId. */
  set(file: RosterFile, sid: string, f: Fields): this {
    const row = this.row(file, sid);
    for (const [k, v] of Object.entries(f)) {
      if (!(k in row)) throw new Error(`${file}.csv has no column "${k}"`);
      row[k] = v ?? '';
    }
    return this;
  }

  row(file: RosterFile, sid: string): Row {
    const row = this.state(file).rows.find((r) => r.sourcedId === sid);
    if (!row) throw new Error(`${file}.csv has no row ${sid}`);
    return row;
  }

  rows(file: RosterFile): readonly Row[] {
    return this.state(file).rows;
  }

  sids(file: RosterFile): string[] {
    return this.state(file).rows.map((r) => r.sourcedId);
  }

  has(file: RosterFile, sid: string): boolean {
    return this.state(file).rows.some((r) => r.sourcedId === sid);
  }

  /** Removes every row with one of these sourcedIds. */
  remove(file: RosterFile, ...sids: string[]): this {
    const st = this.state(file);
    for (const sid of sids) if (!st.rows.some((r) => r.sourcedId === sid)) throw new Error(`${file}.csv has no row ${sid}`);
    st.rows = st.rows.filter((r) => !sids.includes(r.sourcedId));
    return this;
  }

  /** Keeps only rows matching the predicate. */
  filter(file: RosterFile, keep: (row: Row) => boolean): this {
    const st = this.state(file);
    st.rows = st.rows.filter(keep);
    return this;
  }

  /** Removes a user and every enrollment of theirs (what a SIS does when a student leaves). */
  dropUser(sid: string): this {
    this.remove('users', sid);
    return this.filter('enrollments', (e) => e.userSourcedId !== sid);
  }

  /** Removes a class and its enrollments. */
  dropClass(sid: string): this {
    this.remove('classes', sid);
    return this.filter('enrollments', (e) => e.classSourcedId !== sid);
  }

  /** 1-based line of the first row with this sourcedId (header = line 1). */
  lineOf(file: RosterFile, sid: string): number {
    const i = this.state(file).rows.findIndex((r) => r.sourcedId === sid);
    if (i < 0) throw new Error(`${file}.csv has no row ${sid}`);
    return i + 2;
  }

  // ---- modes -----------------------------------------------------------------------------------

  mode(file: RosterFile, mode: Mode): this {
    this.state(file).mode = mode;
    return this;
  }

  modeOf(file: RosterFile): Mode {
    return this.state(file).mode;
  }

  /** Makes a file delta: rows without status get active and a dateLastModified when written. */
  delta(file: RosterFile, keepOnly?: string[]): this {
    this.state(file).mode = 'delta';
    if (keepOnly) this.filter(file, (r) => keepOnly.includes(r.sourcedId));
    return this;
  }

  /** Marks rows tobedeleted (the file must be delta to mean anything). */
  tobedeleted(file: RosterFile, ...sids: string[]): this {
    for (const sid of sids) this.set(file, sid, { status: 'tobedeleted', dateLastModified: DELTA_TIME });
    return this;
  }

  // ---- breaking the upload on purpose -----------------------------------------------------------

  /** Adds metadata.* columns (full names) after the defined columns. */
  metadataColumns(file: RosterFile, ...names: string[]): this {
    const st = this.state(file);
    for (const n of names) {
      if (!n.startsWith('metadata.')) throw new Error('metadata columns are named metadata.*');
      st.metadata.push(n);
      for (const r of st.rows) r[n] = '';
    }
    return this;
  }

  /** Appends a raw text line after the rows, written as is. */
  rawLine(file: RosterFile, line: string): this {
    this.state(file).raw.push(line);
    return this;
  }

  /** The line number the next raw line will get. */
  nextLine(file: RosterFile): number {
    const st = this.state(file);
    return st.rows.length + st.raw.length + 2;
  }

  header(file: RosterFile, text: string): this {
    this.state(file).header = text;
    return this;
  }

  /** Keeps the file in the manifest (with its mode) but leaves it out of the zip. */
  omit(file: RosterFile): this {
    this.state(file).omitted = true;
    return this;
  }

  /** Sets (or, with null, removes) a manifest property. */
  manifestProperty(name: string, value: string | null): this {
    this.manifest = this.manifest.filter(([n]) => n !== name);
    if (value !== null) this.manifest.push([name, value]);
    return this;
  }

  /** Adds another zip entry (e.g. a README) as is. */
  entry(name: string, content: string): this {
    this.extraEntries.push([name, content]);
    return this;
  }

  // ---- output ----------------------------------------------------------------------------------

  csv(file: RosterFile): string {
    const st = this.state(file);
    const cols = [...HEADERS[file], ...st.metadata];
    const lines = [st.header ?? cols.join(',')];
    for (const r of st.rows) {
      const row = { ...r };
      if (st.mode === 'delta') {
        if (!row.status) row.status = 'active';
        if (!row.dateLastModified) row.dateLastModified = DELTA_TIME;
      }
      lines.push(csvLine(cols.map((c) => row[c] ?? '')));
    }
    lines.push(...st.raw);
    return lines.join('\n') + '\n';
  }

  manifestCsv(): string {
    const props = new Map(this.manifest);
    const lines = ['propertyName,value'];
    for (const [k, v] of this.manifest) if (!k.startsWith('file.')) lines.push(csvLine([k, v]));
    for (const f of MANIFEST_FILES) {
      const key = `file.${f}`;
      if (props.has(key)) {
        const v = props.get(key)!;
        lines.push(csvLine([key, v]));
        continue;
      }
      const st = this.files.get(f as RosterFile);
      lines.push(csvLine([key, st ? st.mode : 'absent']));
    }
    return lines.join('\n') + '\n';
  }

  /** Every zip entry: manifest.csv and each file not absent (nor omitted). */
  toFiles(): Array<[string, string]> {
    const out: Array<[string, string]> = [['manifest.csv', this.manifestCsv()]];
    for (const f of ROSTER_FILES) {
      const st = this.state(f);
      if (st.mode === 'absent' || st.omitted) continue;
      out.push([`${f}.csv`, this.csv(f)]);
    }
    out.push(...this.extraEntries);
    return out;
  }

  async zip(dir: string, name = `roster-${++zipCounter}.zip`, opts?: MakeZipOptions): Promise<string> {
    return makeZip(path.join(dir, name), this.toFiles(), opts);
  }
}

let zipCounter = 0;

/**
 * A small but complete roster used by most tests:
 *
 * - orgs: district `dist`; schools `sch1` and `sch2` (parent dist)
 * - sessions: school year `sy`; semesters `fall` and `spring` (parent sy)
 * - courses: `math` (code M1, org dist), `eng` (code E1, org sch1)
 * - classes: `math-1` (math, sch1, "fall,spring"), `eng-1` (eng, sch1, fall), `math-2` (math, sch2, spring)
 * - users: teachers `t1` (sch1), `t2` (sch2); students `s1`..`s<n>` in sch1 and `s2-1` in sch2;
 *   parent `p1` of `s1` (listed on the student's row)
 * - enrollments: t1 primary teacher of math-1 and eng-1; t2 of math-2; s1..s<n> in math-1,
 *   odd ones also in eng-1; s2-1 in math-2.
 */
export function standardRoster(students = 4): Roster {
  const r = new Roster()
    .org('dist', { name: 'District One', type: 'district', identifier: 'D-1' })
    .org('sch1', { name: 'School One', type: 'school', identifier: 'S-1', parentSourcedId: 'dist' })
    .org('sch2', { name: 'School Two', type: 'school', identifier: 'S-2', parentSourcedId: 'dist' })
    .session('sy', { title: '2024-2025', type: 'schoolYear', startDate: '2024-08-01', endDate: '2025-06-30' })
    .session('fall', { title: 'Fall 2024', startDate: '2024-08-15', endDate: '2024-12-20', parentSourcedId: 'sy' })
    .session('spring', { title: 'Spring 2025', startDate: '2025-01-06', endDate: '2025-06-06', parentSourcedId: 'sy' })
    .course('math', 'dist', { title: 'Mathematics', courseCode: 'M1', schoolYearSourcedId: 'sy' })
    .course('eng', 'sch1', { title: 'English', courseCode: 'E1', schoolYearSourcedId: 'sy' })
    .klass('math-1', 'math', 'sch1', 'fall,spring', { title: 'Math 1A', classCode: 'M1A', periods: '1' })
    .klass('eng-1', 'eng', 'sch1', 'fall', { title: 'English 1A' })
    .klass('math-2', 'math', 'sch2', 'spring', { title: 'Math 2A' })
    .user('t1', 'sch1', { role: 'teacher', username: 'teacher.one', givenName: 'Tina', familyName: 'Teach', email: 't1@example.org' })
    .user('t2', 'sch2', { role: 'teacher', username: 'teacher.two', givenName: 'Tom', familyName: 'Tutor' });
  for (let i = 1; i <= students; i++) r.user(`s${i}`, 'sch1', { username: `student.${i}`, givenName: `Stu${i}`, familyName: 'Dent', grades: '09' });
  r.user('s2-1', 'sch2', { username: 'student.21', givenName: 'Sam', familyName: 'Second' });
  r.user('p1', 'sch1', { role: 'parent', username: 'parent.one', givenName: 'Pat', familyName: 'Dent' });
  if (students >= 1) r.set('users', 's1', { agentSourcedIds: 'p1' });
  r.enrollment('e-t1-math-1', 'math-1', 't1', 'sch1', { role: 'teacher', primary: 'true' })
    .enrollment('e-t1-eng-1', 'eng-1', 't1', 'sch1', { role: 'teacher', primary: 'true' })
    .enrollment('e-t2-math-2', 'math-2', 't2', 'sch2', { role: 'teacher', primary: 'true' });
  for (let i = 1; i <= students; i++) {
    r.enrollment(`e-s${i}-math-1`, 'math-1', `s${i}`, 'sch1', { beginDate: '2024-08-20', endDate: '2025-06-01' });
    if (i % 2 === 1) r.enrollment(`e-s${i}-eng-1`, 'eng-1', `s${i}`, 'sch1');
  }
  r.enrollment('e-s2-1-math-2', 'math-2', 's2-1', 'sch2');
  return r;
}

/**
 * A large valid roster for crash tests: one school, `classes` classes of `perClass` students
 * each (every student in one class) and one primary teacher per class.
 */
export function largeRoster(classes: number, perClass: number): Roster {
  const r = new Roster()
    .org('big-dist', { type: 'district' })
    .org('big-sch', { parentSourcedId: 'big-dist' })
    .session('big-term', { title: 'Big Term' })
    .course('big-course', 'big-sch', { title: 'Big Course' });
  for (let c = 0; c < classes; c++) {
    r.klass(`bc${c}`, 'big-course', 'big-sch', 'big-term');
    r.user(`bt${c}`, 'big-sch', { role: 'teacher', username: `bt${c}` });
    r.enrollment(`be-t${c}`, `bc${c}`, `bt${c}`, 'big-sch', { role: 'teacher', primary: 'true', beginDate: '2024-08-15' });
    for (let s = 0; s < perClass; s++) {
      const u = `bs${c}-${s}`;
      r.user(u, 'big-sch', { username: u, email: `${u}@example.org`, grades: '05', userIds: `{LDAP:${u}}` });
      r.enrollment(`be-${u}`, `bc${c}`, u, 'big-sch', { beginDate: '2024-08-15', endDate: '2024-12-20' });
    }
  }
  return r;
}
