/**
 * Deterministic synthetic OneRoster 1.1 CSV rosters for the benchmark.
 *
 * Every value is derived from (seed, entity kind, index) by a counter-based hash PRNG, never from
 * Math.random, so the same options give byte-identical CSVs and zip, and the 'changed' variant is the
 * base roster with a deterministic set of edits. Rows are streamed to disk with backpressure: memory
 * stays flat whatever the scale (no per-row array is ever built), then the files are zipped with yazl.
 *
 * Shape at E enrollments: classes = E/20 (one primary teacher + ~19 students each), users = E/5
 * (90% students, 5% teachers, 5% parents linked both ways through agentSourcedIds), courses =
 * classes/25, one district + one school per 1000 classes, a school year and two semesters per school.
 * So E = 1,000,000 gives 200,000 users, 50,000 classes, 2,000 courses, 50 schools.
 */
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as yazl from 'yazl';

export type RosterVariant = 'base' | 'changed';

export interface GenerateOptions {
  enrollments: number;
  seed?: number;
  variant?: RosterVariant;
  /** give ~99% of users a password (default true) */
  passwords?: boolean;
  /** output directory; the CSVs go to a subdirectory, the zip next to it */
  dir: string;
}

export interface GeneratedRoster {
  zipPath: string;
  csvDir: string;
  /** data rows written per file (header excluded), keyed by file name without .csv */
  rows: Record<string, number>;
}

/** OneRoster 1.1 headers, exact names and order (the OneRoster 1.1 CSV specification §3). */
export const HEADERS = {
  orgs: 'sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId',
  academicSessions: 'sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear',
  courses: 'sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes',
  classes:
    'sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods',
  users:
    'sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password',
  enrollments: 'sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate',
} as const;
export type GeneratedFile = keyof typeof HEADERS;
/** The data files written, in the order the engine reads them. */
export const GENERATED_FILES: readonly GeneratedFile[] = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments'];

const MANIFEST_FILES = [
  'academicSessions', 'categories', 'classes', 'classResources', 'courses', 'courseResources',
  'demographics', 'enrollments', 'lineItems', 'orgs', 'resources', 'results', 'users',
] as const;

/**
 * Fixed zip entry time (local midnight, written as a DOS timestamp only), so the zip bytes and
 * their sha256 are the same on every machine and in every time zone.
 */
const ZIP_MTIME = new Date(2026, 0, 1, 0, 0, 0);

// ------------------------------------------------------------------------------------------------
// hashing PRNG

/** murmur3's 32-bit finaliser: a bijection on uint32. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A well-mixed uint32 of (a, b, c). */
function hash3(a: number, b: number, c: number): number {
  let x = fmix32((a ^ 0x9e3779b9) >>> 0);
  x = fmix32((x ^ Math.imul((b + 0x7f4a7c15) | 0, 0x85ebca6b)) >>> 0);
  x = fmix32((x ^ Math.imul((c + 0x165667b1) | 0, 0xc2b2ae35)) >>> 0);
  return x;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
function hex32(n: number): string {
  return HEX[n >>> 24] + HEX[(n >>> 16) & 255] + HEX[(n >>> 8) & 255] + HEX[n & 255];
}
const UUID_VARIANT = ['8', '9', 'a', 'b'];

// entity kinds (hash domains)
const K = {
  org: 1, session: 2, course: 3, clazz: 4, user: 5, enrollment: 6, enrollmentNew: 7, enrollmentNewUser: 8,
  name: 20, offset: 21, userChange: 22, classChange: 23, enrollmentChange: 24, classNew: 25, misc: 26,
  password: 27, term: 28,
} as const;

class Rng {
  private readonly keys = new Map<number, number>();
  constructor(private readonly seed: number) {}
  key(kind: number): number {
    let k = this.keys.get(kind);
    if (k === undefined) {
      k = hash3(this.seed >>> 0, kind, 0x5bd1e995);
      this.keys.set(kind, k);
    }
    return k;
  }
  /** uint32 for (kind, index, salt) */
  u32(kind: number, i: number, salt = 0): number {
    return hash3(this.key(kind), i, salt);
  }
  /** [0, 1) */
  float(kind: number, i: number, salt = 0): number {
    return this.u32(kind, i, salt) / 4294967296;
  }
  int(kind: number, i: number, salt: number, n: number): number {
    return Math.floor(this.float(kind, i, salt) * n);
  }
  /**
   * A UUID-shaped (v4 layout), deterministic sourcedId. The first 32 bits are a bijection of the
   * index, so ids of one kind never collide; the other 90 bits are hashes.
   */
  uuid(kind: number, i: number): string {
    const key = this.key(kind);
    const a = fmix32((i ^ key) >>> 0);
    const b = hash3(key, i, 1);
    const c = hash3(key, i, 2);
    const d = hash3(key, i, 3);
    const bh = hex32(b);
    const ch = hex32(c);
    return `${hex32(a)}-${bh.slice(0, 4)}-4${bh.slice(5, 8)}-${UUID_VARIANT[c >>> 30]}${ch.slice(1, 4)}-${ch.slice(4, 8)}${hex32(d)}`;
  }
}

// ------------------------------------------------------------------------------------------------
// vocabulary

const GIVEN = [
  'Olivia', 'Liam', 'Emma', 'Noah', 'Amelia', 'Oliver', 'Ava', 'Elijah', 'Sophia', 'Mateo', 'Isabella', 'Lucas',
  'Mia', 'Levi', 'Evelyn', 'Asher', 'Harper', 'James', 'Luna', 'Leo', 'Camila', 'Grayson', 'Gianna', 'Ezra',
  'Elizabeth', 'Luca', 'Eleanor', 'Ethan', 'Ella', 'Aiden', 'Abigail', 'Wyatt', 'Sofia', 'Sebastian', 'Avery',
  'Benjamin', 'Scarlett', 'Mason', 'Emily', 'Henry', 'Aria', 'Hudson', 'Penelope', 'Jack', 'Chloe', 'Jackson',
  'Layla', 'Owen', 'Mila', 'Daniel', 'Nora', 'Alexander', 'Hazel', 'Maverick', 'Madison', 'Kai', 'Ellie',
  'Gabriel', 'Lily', 'Carter', 'Nova', 'William', 'Isla', 'Logan', 'Grace', 'Michael', 'Violet', 'Samuel',
  'Aurora', 'Muhammad', 'Riley', 'Waylon', 'Zoey', 'Ezekiel', 'Willow', 'Jayden', 'Emilia', 'Luke', 'Stella',
  'Lincoln', 'Zoe', 'Theo', 'Victoria', 'Jacob', 'Hannah', 'Josiah', 'Addison', 'David', 'Leah', 'Jaxon',
  'Lucy', 'Elias', 'Eliana', 'Julian', 'Ivy', 'Theodore', 'Everly', 'Isaiah', 'Lillian', 'Aaliyah', 'Santiago',
  'Maya', 'Ji-woo', 'Siobhan', 'Zoë', 'José', 'Renée', 'Nguyen', 'Chidi', 'Anaïs',
];
const FAMILY = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson', 'Walker',
  'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores', 'Green', 'Adams', 'Nelson',
  'Baker', 'Hall', 'Rivera', 'Campbell', 'Mitchell', 'Carter', 'Roberts', 'Gomez', 'Phillips', 'Evans',
  'Turner', 'Diaz', 'Parker', 'Cruz', 'Edwards', 'Collins', 'Reyes', 'Stewart', 'Morris', 'Morales', 'Murphy',
  'Cook', 'Rogers', 'Gutierrez', 'Ortiz', 'Morgan', 'Cooper', 'Peterson', 'Bailey', 'Reed', 'Kelly', 'Howard',
  'Ramos', 'Kim', 'Cox', 'Ward', 'Richardson', 'Watson', 'Brooks', 'Chavez', 'Wood', 'James', 'Bennett', 'Gray',
  'Mendoza', 'Ruiz', 'Hughes', 'Price', 'Alvarez', 'Castillo', 'Sanders', 'Patel', 'Myers', 'Long', 'Ross',
  "O'Brien", 'Van der Berg', 'Müller', 'Østergaard', 'Smith-Jones', 'Okafor', 'Nakamura', 'Kowalski',
];
const PLACES = [
  'Lincoln', 'Riverside', 'Oak Grove', 'Maple Valley', 'Cedar Ridge', 'Lakeview', 'Hillcrest', 'Pine Hollow',
  'Westfield', 'Eastwood', 'Northgate', 'Southside', 'Brookside', 'Fairview', 'Highland', 'Meadowbrook',
];
interface Subject { name: string; code: string; abbr: string }
const SUBJECTS: Subject[] = [
  { name: 'English Language Arts', code: '01001', abbr: 'ENG' },
  { name: 'Algebra', code: '02052', abbr: 'ALG' },
  { name: 'Geometry', code: '02072', abbr: 'GEO' },
  { name: 'Biology', code: '03051', abbr: 'BIO' },
  { name: 'Chemistry', code: '03101', abbr: 'CHEM' },
  { name: 'Physics', code: '03151', abbr: 'PHYS' },
  { name: 'World History', code: '04051', abbr: 'WHIS' },
  { name: 'U.S. History', code: '04101', abbr: 'USH' },
  { name: 'Spanish', code: '06101', abbr: 'SPAN' },
  { name: 'Visual Arts', code: '05154', abbr: 'ART' },
  { name: 'Physical Education', code: '08001', abbr: 'PE' },
  { name: 'Computer Science', code: '10011', abbr: 'CS' },
];
const GRADES = ['09', '10', '11', '12'];
const PW_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#$%&*+-=?@^_';

// terms (one school year, 2025-26)
const SCHOOL_YEAR = '2026';
const TERMS = {
  year: { title: '2025-2026 School Year', type: 'schoolYear', start: '2025-08-18', end: '2026-06-12' },
  fall: { title: '2025-2026 Fall Semester', type: 'semester', start: '2025-08-18', end: '2025-12-19' },
  spring: { title: '2025-2026 Spring Semester', type: 'semester', start: '2026-01-05', end: '2026-06-12' },
} as const;
type TermKey = keyof typeof TERMS;

/** Earlier end dates (a withdrawal) used by the 'changed' variant, per term: 1 to 8 weeks early. */
const EARLY_END: Record<TermKey, string[]> = {
  year: earlier(TERMS.year.end),
  fall: earlier(TERMS.fall.end),
  spring: earlier(TERMS.spring.end),
};
function earlier(end: string): string[] {
  const t = Date.parse(`${end}T00:00:00Z`);
  return Array.from({ length: 8 }, (_, w) => new Date(t - (w + 1) * 7 * 86400000).toISOString().slice(0, 10));
}

// ------------------------------------------------------------------------------------------------
// CSV writing

/** RFC 4180 field: quoted only when it holds a comma, quote or line break. */
function q(v: string): string {
  if (v.indexOf(',') < 0 && v.indexOf('"') < 0 && v.indexOf('\n') < 0 && v.indexOf('\r') < 0) return v;
  return `"${v.replace(/"/g, '""')}"`;
}

/** Buffered line writer over a file stream that honours backpressure. */
class CsvWriter {
  private buf = '';
  rows = 0;
  private readonly ws: fs.WriteStream;
  private readonly done: Promise<void>;
  constructor(file: string, header: string) {
    this.ws = fs.createWriteStream(file, { encoding: 'utf8' });
    this.done = new Promise((resolve, reject) => {
      this.ws.on('error', reject);
      this.ws.on('finish', () => resolve());
    });
    this.done.catch(() => undefined);
    this.buf = `${header}\n`;
  }
  /** add one row of already-escaped fields; true when the caller should `await flush()` */
  line(row: string): boolean {
    this.buf += row;
    this.buf += '\n';
    this.rows++;
    return this.buf.length >= 1 << 16;
  }
  /** the buffer is due for a flush */
  get full(): boolean {
    return this.buf.length >= 1 << 16;
  }
  async flush(): Promise<void> {
    if (!this.buf) return;
    const ok = this.ws.write(this.buf);
    this.buf = '';
    if (!ok) await Promise.race([once(this.ws, 'drain'), this.done]);
  }
  async close(): Promise<void> {
    await this.flush();
    this.ws.end();
    await this.done;
  }
}

// ------------------------------------------------------------------------------------------------
// layout

/** Start of block s when N items are split into S contiguous blocks. */
function blockStart(s: number, n: number, blocks: number): number {
  return Math.floor((s * n) / blocks);
}

interface Layout {
  enrollments: number;
  classes: number;
  schools: number;
  courses: number;
  students: number;
  teachers: number;
  parents: number;
  users: number;
  /** new users in the 'changed' variant */
  newUsers: number;
}

export function rosterLayout(enrollments: number): Layout {
  if (!Number.isInteger(enrollments) || enrollments < 100) throw new Error('enrollments must be an integer >= 100');
  const classes = Math.max(1, Math.round(enrollments / 20));
  const schools = Math.max(1, Math.ceil(classes / 1000));
  const courses = Math.max(schools, Math.round(classes / 25));
  const users = Math.max(schools * 3 + 20, Math.round(enrollments / 5));
  const teachers = Math.max(schools, Math.round(users * 0.05));
  const parents = Math.max(schools, Math.round(users * 0.05));
  const students = users - teachers - parents;
  const newUsers = Math.max(1, Math.round(users * 0.002));
  return { enrollments, classes, schools, courses, students, teachers, parents, users, newUsers };
}

/** Ranges of the per-school blocks of one entity kind. */
function range(s: number, n: number, schools: number): [number, number] {
  return [blockStart(s, n, schools), blockStart(s + 1, n, schools)];
}

// ------------------------------------------------------------------------------------------------
// generator

/** Share of rows the 'changed' variant edits, removes or adds (see the 5% re-sync). */
export const CHANGE_RATES = {
  /** users whose family name (half) or email (half) changes */
  userEdit: 0.05,
  /** classes whose title changes */
  classTitle: 0.05,
  /** enrollments whose endDate moves earlier */
  enrollmentEndDate: 0.05,
  /** student enrollments dropped (≈1% of all enrollments) */
  enrollmentRemoved: 0.0105,
  /** classes that gain one student (≈1% of all enrollments at 20 a class) */
  classGainsStudent: 0.2,
  /** new student users, each enrolled in up to 2 classes */
  newUsers: 0.002,
} as const;

function asciiSlug(s: string): string {
  return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '');
}

export async function generateRoster(opts: GenerateOptions): Promise<GeneratedRoster> {
  const seed = (opts.seed ?? 1) >>> 0;
  const variant: RosterVariant = opts.variant ?? 'base';
  const passwords = opts.passwords ?? true;
  const changed = variant === 'changed';
  const L = rosterLayout(opts.enrollments);
  const rng = new Rng(seed);

  const name = `oneroster-${opts.enrollments}-${variant}-s${seed}${passwords ? '' : '-nopw'}`;
  const csvDir = path.join(opts.dir, name);
  const zipPath = path.join(opts.dir, `${name}.zip`);
  await fs.promises.mkdir(csvDir, { recursive: true });
  const file = (f: string) => path.join(csvDir, `${f}.csv`);
  const rows: Record<string, number> = {};

  // ids --------------------------------------------------------------------------------------------
  const districtId = rng.uuid(K.org, 0);
  const schoolId = (s: number) => rng.uuid(K.org, 1 + s);
  const sessionId = (s: number, t: TermKey) => rng.uuid(K.session, s * 3 + (t === 'year' ? 0 : t === 'fall' ? 1 : 2));
  const courseId = (k: number) => rng.uuid(K.course, k);
  const classId = (c: number) => rng.uuid(K.clazz, c);
  const userId = (u: number) => rng.uuid(K.user, u);
  // one index space for users, so their sourcedIds cannot collide
  const studentUser = (g: number) => g;
  const teacherUser = (g: number) => L.students + g;
  const parentUser = (g: number) => L.students + L.teachers + g;
  const newUser = (k: number) => L.users + k;
  const districtDomain = 'benchusd.example.org';
  const schoolDomain = (s: number) => `${asciiSlug(PLACES[s % PLACES.length])}${s >= PLACES.length ? Math.floor(s / PLACES.length) + 1 : ''}.${districtDomain}`;

  // manifest -----------------------------------------------------------------------------------------
  {
    const lines = ['propertyName,value', 'manifest.version,1.0', 'oneroster.version,1.1'];
    const present = new Set<string>(GENERATED_FILES);
    for (const f of MANIFEST_FILES) lines.push(`file.${f},${present.has(f) ? 'bulk' : 'absent'}`);
    lines.push('source.systemName,rosterdrop bench generator', 'source.systemCode,RDBENCH');
    await fs.promises.writeFile(file('manifest'), `${lines.join('\n')}\n`);
  }

  // orgs -----------------------------------------------------------------------------------------------
  {
    const w = new CsvWriter(file('orgs'), HEADERS.orgs);
    w.line(`${districtId},,,Bench Unified School District,district,${4800000 + (seed % 90000)},`);
    for (let s = 0; s < L.schools; s++) {
      const suffix = s >= PLACES.length ? ` ${Math.floor(s / PLACES.length) + 1}` : '';
      const nces = String(480000000000 + (seed % 1000) * 100000 + s);
      w.line([schoolId(s), '', '', q(`${PLACES[s % PLACES.length]} High School${suffix}`), 'school', nces, districtId].join(','));
    }
    await w.close();
    rows.orgs = w.rows;
  }

  // academicSessions -------------------------------------------------------------------------------------
  {
    const w = new CsvWriter(file('academicSessions'), HEADERS.academicSessions);
    for (let s = 0; s < L.schools; s++) {
      for (const t of ['year', 'fall', 'spring'] as const) {
        const d = TERMS[t];
        const parent = t === 'year' ? '' : sessionId(s, 'year');
        w.line([sessionId(s, t), '', '', d.title, d.type, d.start, d.end, parent, SCHOOL_YEAR].join(','));
      }
    }
    await w.close();
    rows.academicSessions = w.rows;
  }

  // courses ------------------------------------------------------------------------------------------------
  const courseInfo = (lk: number) => {
    const subject = SUBJECTS[lk % SUBJECTS.length];
    const level = Math.floor(lk / SUBJECTS.length) + 1;
    const g = (lk + level) % GRADES.length;
    const grades = lk % 3 === 0 && g < GRADES.length - 1 ? `${GRADES[g]},${GRADES[g + 1]}` : GRADES[g];
    return { subject, grades, title: `${subject.name} ${level}`, code: `${subject.abbr}-${String(level).padStart(3, '0')}` };
  };
  {
    const w = new CsvWriter(file('courses'), HEADERS.courses);
    for (let s = 0; s < L.schools; s++) {
      const [k0, k1] = range(s, L.courses, L.schools);
      for (let k = k0; k < k1; k++) {
        const c = courseInfo(k - k0);
        if (w.line([courseId(k), '', '', sessionId(s, 'year'), q(c.title), c.code, q(c.grades), schoolId(s), q(c.subject.name), c.subject.code].join(','))) await w.flush();
      }
    }
    await w.close();
    rows.courses = w.rows;
  }

  // classes --------------------------------------------------------------------------------------------------
  /** the class's term: every tenth class runs all year (two terms listed), the rest one semester */
  const classTerm = (lc: number): TermKey => (lc % 10 === 9 ? 'year' : lc % 2 === 0 ? 'fall' : 'spring');
  {
    const w = new CsvWriter(file('classes'), HEADERS.classes);
    for (let s = 0; s < L.schools; s++) {
      const [c0, c1] = range(s, L.classes, L.schools);
      const [k0, k1] = range(s, L.courses, L.schools);
      const nk = k1 - k0;
      for (let c = c0; c < c1; c++) {
        const lc = c - c0;
        const lk = lc % nk;
        const course = courseInfo(lk);
        const section = Math.floor(lc / nk) + 1;
        const period = 1 + (lc % 8);
        const term = classTerm(lc);
        const terms = term === 'year' ? `${sessionId(s, 'fall')},${sessionId(s, 'spring')}` : sessionId(s, term);
        let title = `${course.title} - Period ${period}`;
        if (changed && rng.float(K.classChange, c) < CHANGE_RATES.classTitle) title = `${course.title} - Period ${period} (Section ${section})`;
        const periods = lc % 7 === 0 && period < 8 ? `${period},${period + 1}` : String(period);
        if (
          w.line(
            [
              classId(c), '', '', q(title), q(course.grades), courseId(k0 + lk), `${course.code}-${String(section).padStart(2, '0')}`,
              lc % 50 === 0 ? 'homeroom' : 'scheduled', `Room ${100 + (lc % 300)}`, schoolId(s), q(terms),
              q(course.subject.name), course.subject.code, q(periods),
            ].join(','),
          )
        ) await w.flush();
      }
    }
    await w.close();
    rows.classes = w.rows;
  }

  // users ------------------------------------------------------------------------------------------------------
  const parentHasTwo = (gp: number) => rng.float(K.misc, parentUser(gp), 2) < 0.6;
  const password = (uid: number): string => {
    if (!passwords || rng.float(K.password, uid, 0) >= 0.99) return '';
    let pw = '';
    for (let i = 1; i <= 12; i++) pw += PW_ALPHABET[rng.u32(K.password, uid, i) % PW_ALPHABET.length];
    return pw;
  };
  const userRow = (uid: number, role: 'student' | 'teacher' | 'parent', s: number, local: number, agents: string): string => {
    const gi = rng.int(K.name, uid, 1, GIVEN.length);
    let fi = rng.int(K.name, uid, 2, FAMILY.length);
    const given = GIVEN[gi];
    const middle = rng.float(K.name, uid, 3) < 0.3 ? GIVEN[rng.int(K.name, uid, 4, GIVEN.length)] : '';
    const username = `${asciiSlug(given).slice(0, 1)}${asciiSlug(FAMILY[fi])}${uid}`;
    let email: string;
    let orgs = schoolId(s);
    let userIds: string;
    let identifier = '';
    let phone = '';
    let grades = '';
    let realRole: string = role;
    if (role === 'student') {
      identifier = String(100000 + uid);
      userIds = `{SIS:${identifier}}`;
      email = `${username}@students.${districtDomain}`;
      grades = GRADES[(local + rng.int(K.misc, uid, 3, 2)) % GRADES.length];
    } else if (role === 'teacher') {
      identifier = `T${String(10000 + uid - L.students)}`;
      userIds = `{SIS:${identifier}},{LDAP:${username}}`;
      email = `${username}@${schoolDomain(s)}`;
      if (rng.float(K.misc, uid, 4) < 0.1) orgs = `${orgs},${districtId}`;
      phone = `(555) ${String(100 + (uid % 900))}-${String(1000 + (rng.u32(K.misc, uid, 5) % 9000))}`;
    } else {
      userIds = `{Portal:P${uid}}`;
      email = `${username}@mail.example.com`;
      phone = `(555) ${String(100 + (uid % 900))}-${String(1000 + (rng.u32(K.misc, uid, 5) % 9000))}`;
      if (rng.float(K.misc, uid, 6) < 0.2) realRole = 'guardian';
    }
    if (changed) {
      const r = rng.float(K.userChange, uid);
      if (r < CHANGE_RATES.userEdit / 2) fi = (fi + 1 + rng.int(K.userChange, uid, 1, FAMILY.length - 1)) % FAMILY.length;
      else if (r < CHANGE_RATES.userEdit) email = `${username}@${role === 'student' ? 'learn' : 'staff'}.${districtDomain}`;
    }
    const enabled = rng.float(K.misc, uid, 1) < 0.01 ? 'false' : 'true';
    return [
      userId(uid), '', '', enabled, q(orgs), realRole, username, q(userIds), q(given), q(FAMILY[fi]), q(middle), identifier, email, '', phone,
      q(agents), grades, password(uid),
    ].join(',');
  };
  {
    const w = new CsvWriter(file('users'), HEADERS.users);
    for (let s = 0; s < L.schools; s++) {
      const [t0, t1] = range(s, L.teachers, L.schools);
      const [st0, st1] = range(s, L.students, L.schools);
      const [p0, p1] = range(s, L.parents, L.schools);
      const np = p1 - p0;
      const ns = st1 - st0;
      for (let t = t0; t < t1; t++) if (w.line(userRow(teacherUser(t), 'teacher', s, t - t0, ''))) await w.flush();
      for (let g = st0; g < st1; g++) {
        // student i's parent is parent i>>1 of the school (when that parent exists and lists it)
        const i = g - st0;
        const p = i >> 1;
        const agents = p < np && ((i & 1) === 0 || parentHasTwo(p0 + p)) ? userId(parentUser(p0 + p)) : '';
        if (w.line(userRow(studentUser(g), 'student', s, i, agents))) await w.flush();
      }
      for (let p = p0; p < p1; p++) {
        const lp = p - p0;
        let agents = userId(studentUser(st0 + 2 * lp));
        if (parentHasTwo(p) && 2 * lp + 1 < ns) agents += `,${userId(studentUser(st0 + 2 * lp + 1))}`;
        if (w.line(userRow(parentUser(p), 'parent', s, lp, agents))) await w.flush();
      }
    }
    if (changed) {
      for (let k = 0; k < L.newUsers; k++) {
        const s = k % L.schools;
        const [st0, st1] = range(s, L.students, L.schools);
        if (w.line(userRow(newUser(k), 'student', s, st1 - st0 + k, ''))) await w.flush();
      }
    }
    await w.close();
    rows.users = w.rows;
  }

  // enrollments ------------------------------------------------------------------------------------------------
  {
    const w = new CsvWriter(file('enrollments'), HEADERS.enrollments);
    const studentSlots = L.enrollments - L.classes;
    let e = 0; // index of the enrollment in the base roster (stable across variants)
    for (let s = 0; s < L.schools; s++) {
      const [c0, c1] = range(s, L.classes, L.schools);
      const [t0, t1] = range(s, L.teachers, L.schools);
      const [st0, st1] = range(s, L.students, L.schools);
      const nt = t1 - t0;
      const ns = st1 - st0;
      const sid = schoolId(s);
      const avg = Math.max(1, Math.round(studentSlots / L.classes));
      for (let c = c0; c < c1; c++) {
        const lc = c - c0;
        const cid = classId(c);
        const term = TERMS[classTerm(lc)];
        const early = EARLY_END[classTerm(lc)];
        const endDate = (idx: number) =>
          changed && rng.float(K.enrollmentChange, idx) < CHANGE_RATES.enrollmentEndDate ? early[rng.int(K.enrollmentChange, idx, 1, early.length)] : term.end;
        // the primary teacher
        w.line([rng.uuid(K.enrollment, e), '', '', cid, sid, userId(teacherUser(t0 + (lc % nt))), 'teacher', 'true', term.start, endDate(e)].join(','));
        e++;
        // its students: a run of the school's students from a per-class offset
        const n = Math.min(ns, Math.floor(((c + 1) * studentSlots) / L.classes) - Math.floor((c * studentSlots) / L.classes));
        const off = (lc * avg + rng.int(K.offset, c, 0, 7)) % ns;
        for (let j = 0; j < n; j++, e++) {
          if (changed) {
            const r = rng.float(K.enrollmentChange, e);
            if (r >= CHANGE_RATES.enrollmentEndDate && r < CHANGE_RATES.enrollmentEndDate + CHANGE_RATES.enrollmentRemoved) continue;
          }
          const uid = studentUser(st0 + ((off + j) % ns));
          w.line([rng.uuid(K.enrollment, e), '', '', cid, sid, userId(uid), 'student', 'false', term.start, endDate(e)].join(','));
        }
        if (changed && n < ns && rng.float(K.classNew, c) < CHANGE_RATES.classGainsStudent) {
          const uid = studentUser(st0 + ((off + n) % ns));
          w.line([rng.uuid(K.enrollmentNew, c), '', '', cid, sid, userId(uid), 'student', 'false', term.start, term.end].join(','));
        }
        if (w.full) await w.flush();
      }
    }
    if (changed) {
      for (let k = 0; k < L.newUsers; k++) {
        const s = k % L.schools;
        const [c0, c1] = range(s, L.classes, L.schools);
        const nc = c1 - c0;
        const picks = nc > 1 ? [(k * 7) % nc, (k * 7 + 1) % nc] : [0];
        picks.forEach((lc, j) => {
          const term = TERMS[classTerm(lc)];
          w.line([rng.uuid(K.enrollmentNewUser, k * 2 + j), '', '', classId(c0 + lc), schoolId(s), userId(newUser(k)), 'student', 'false', term.start, term.end].join(','));
        });
        await w.flush();
      }
    }
    await w.close();
    rows.enrollments = w.rows;
  }

  // zip ----------------------------------------------------------------------------------------------------------
  await zipFiles(zipPath, csvDir, ['manifest', ...GENERATED_FILES].map((f) => `${f}.csv`));
  return { zipPath, csvDir, rows };
}

/** Deflate the files of dir into a zip at its root (fixed mtime: deterministic bytes). */
export async function zipFiles(zipPath: string, dir: string, names: string[]): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const n of names) zip.addFile(path.join(dir, n), n, { compress: true, mtime: ZIP_MTIME, mode: 0o100644, forceDosTimestamp: true });
  zip.end();
  await pipeline(zip.outputStream, fs.createWriteStream(zipPath));
}

/** Total data rows (all files). */
export function totalRows(rows: Record<string, number>): number {
  return Object.values(rows).reduce((a, b) => a + b, 0);
}
