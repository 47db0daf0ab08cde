/**
 * The bench's roster generator: deterministic, exact OneRoster 1.1 headers, the documented
 * proportions, and a 'changed' variant that differs in about 5% of the users.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { splitCsvLine } from '../../bench/baseline';
import { generateRoster, type GeneratedRoster } from '../../bench/generate';

// Copied from the OneRoster 1.1 CSV specification §3, not from the generator, so a typo there fails here.
const EXPECTED_HEADERS: Record<string, string> = {
  orgs: 'sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId',
  academicSessions: 'sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear',
  courses: 'sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes',
  classes:
    'sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods',
  users:
    'sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password',
  enrollments: 'sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate',
};
const FILES = Object.keys(EXPECTED_HEADERS);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

type Row = Record<string, string>;
function readCsv(dir: string, name: string): { header: string; rows: Row[] } {
  const text = fs.readFileSync(path.join(dir, `${name}.csv`), 'utf8');
  assert.ok(text.endsWith('\n'), `${name}.csv ends with a newline`);
  const lines = text.slice(0, -1).split('\n');
  const header = lines[0];
  const cols = splitCsvLine(header);
  const rows = lines.slice(1).map((line, i) => {
    const f = splitCsvLine(line);
    assert.equal(f.length, cols.length, `${name}.csv line ${i + 2} has ${f.length} fields, header has ${cols.length}`);
    const r: Row = {};
    cols.forEach((c, k) => (r[c] = f[k]));
    return r;
  });
  return { header, rows };
}

describe('bench roster generator', () => {
  let tmp: string;
  let a: GeneratedRoster;
  let b: GeneratedRoster;
  let changed: GeneratedRoster;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rosterdrop-gen-test-'));
    a = await generateRoster({ enrollments: 10_000, seed: 7, dir: path.join(tmp, 'a') });
    b = await generateRoster({ enrollments: 10_000, seed: 7, dir: path.join(tmp, 'b') });
    changed = await generateRoster({ enrollments: 10_000, seed: 7, variant: 'changed', dir: path.join(tmp, 'a') });
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('is deterministic: the same seed gives byte-identical CSVs and zip', async () => {
    for (const f of ['manifest', ...FILES]) {
      assert.ok(fs.readFileSync(path.join(a.csvDir, `${f}.csv`)).equals(fs.readFileSync(path.join(b.csvDir, `${f}.csv`))), `${f}.csv differs`);
    }
    assert.ok(fs.readFileSync(a.zipPath).equals(fs.readFileSync(b.zipPath)), 'zip differs');
    assert.deepEqual(a.rows, b.rows);
    const other = await generateRoster({ enrollments: 1_000, seed: 8, dir: path.join(tmp, 'c') });
    const mine = await generateRoster({ enrollments: 1_000, seed: 7, dir: path.join(tmp, 'c') });
    assert.notEqual(fs.readFileSync(path.join(other.csvDir, 'users.csv'), 'utf8'), fs.readFileSync(path.join(mine.csvDir, 'users.csv'), 'utf8'));
  });

  it('writes the exact OneRoster 1.1 headers, a full bulk manifest and no BOM', () => {
    for (const f of FILES) {
      const text = fs.readFileSync(path.join(a.csvDir, `${f}.csv`), 'utf8');
      assert.notEqual(text.charCodeAt(0), 0xfeff);
      assert.equal(text.slice(0, text.indexOf('\n')), EXPECTED_HEADERS[f], `${f}.csv header`);
    }
    const manifest = fs.readFileSync(path.join(a.csvDir, 'manifest.csv'), 'utf8').trim().split('\n');
    assert.equal(manifest[0], 'propertyName,value');
    const props = new Map(manifest.slice(1).map((l) => l.split(',') as [string, string]));
    assert.equal(props.get('manifest.version'), '1.0');
    assert.equal(props.get('oneroster.version'), '1.1');
    const fileRows = [...props.keys()].filter((k) => k.startsWith('file.'));
    assert.equal(fileRows.length, 13);
    for (const k of fileRows) assert.equal(props.get(k), FILES.includes(k.slice(5)) ? 'bulk' : 'absent', k);
  });

  it('has the documented proportions and consistent references at 10k enrollments', () => {
    const orgs = readCsv(a.csvDir, 'orgs').rows;
    const sessions = readCsv(a.csvDir, 'academicSessions').rows;
    const courses = readCsv(a.csvDir, 'courses').rows;
    const classes = readCsv(a.csvDir, 'classes').rows;
    const users = readCsv(a.csvDir, 'users').rows;
    const enrollments = readCsv(a.csvDir, 'enrollments').rows;
    assert.deepEqual(a.rows, {
      orgs: orgs.length, academicSessions: sessions.length, courses: courses.length, classes: classes.length, users: users.length, enrollments: enrollments.length,
    });
    assert.equal(enrollments.length, 10_000);
    assert.equal(users.length, 2_000);
    assert.equal(classes.length, 500);
    assert.equal(courses.length, 20);
    assert.equal(orgs.filter((o) => o.type === 'district').length, 1);
    const schools = orgs.filter((o) => o.type === 'school');
    assert.equal(schools.length, 1);
    assert.equal(sessions.filter((s) => s.type === 'schoolYear').length, schools.length);
    assert.equal(sessions.filter((s) => s.type === 'semester').length, 2 * schools.length);

    const byRole = (r: string) => users.filter((u) => u.role === r).length;
    assert.equal(byRole('teacher'), 100);
    assert.equal(byRole('parent') + byRole('guardian'), 100);
    assert.equal(byRole('student'), 1_800);

    // ids: UUID-shaped and unique per file; usernames unique per school; bulk rows leave status blank
    for (const [name, rows] of Object.entries({ orgs, sessions, courses, classes, users, enrollments })) {
      const ids = new Set(rows.map((r) => r.sourcedId));
      assert.equal(ids.size, rows.length, `${name}: duplicate sourcedId`);
      for (const r of rows) {
        assert.match(r.sourcedId, UUID);
        assert.equal(r.status, '');
        assert.equal(r.dateLastModified, '');
      }
    }
    const usernames = new Set(users.map((u) => `${u.orgSourcedIds.split(',')[0]}/${u.username}`));
    assert.equal(usernames.size, users.length);
    const passwords = users.filter((u) => u.password !== '').length;
    assert.ok(passwords >= users.length * 0.97, `passwords for ~all users (${passwords})`);
    for (const u of users) assert.match(u.email, /^[a-z0-9.]+@[a-z0-9.-]+\.[a-z]+$/);

    // references
    const userById = new Map(users.map((u) => [u.sourcedId, u]));
    const classById = new Map(classes.map((c) => [c.sourcedId, c]));
    const orgIds = new Set(orgs.map((o) => o.sourcedId));
    const sessionIds = new Set(sessions.map((s) => s.sourcedId));
    const courseIds = new Set(courses.map((c) => c.sourcedId));
    for (const c of classes) {
      assert.ok(courseIds.has(c.courseSourcedId));
      assert.ok(orgIds.has(c.schoolSourcedId));
      for (const t of c.termSourcedIds.split(',')) assert.ok(sessionIds.has(t));
    }
    for (const u of users) for (const o of u.orgSourcedIds.split(',')) assert.ok(orgIds.has(o));

    // each class: exactly one primary teacher; no user twice in a class; dates valid
    const primaries = new Map<string, number>();
    const pairs = new Set<string>();
    for (const e of enrollments) {
      const cls = classById.get(e.classSourcedId);
      const user = userById.get(e.userSourcedId);
      assert.ok(cls && user, 'enrollment references resolve');
      assert.equal(e.schoolSourcedId, cls.schoolSourcedId);
      assert.equal(e.role, user.role);
      assert.match(e.beginDate, DATE);
      assert.match(e.endDate, DATE);
      assert.ok(e.beginDate < e.endDate);
      if (e.role === 'teacher' && e.primary === 'true') primaries.set(e.classSourcedId, (primaries.get(e.classSourcedId) ?? 0) + 1);
      const pair = `${e.classSourcedId}/${e.userSourcedId}`;
      assert.ok(!pairs.has(pair), `duplicate enrollment ${pair}`);
      pairs.add(pair);
    }
    assert.equal(primaries.size, classes.length);
    for (const n of primaries.values()) assert.equal(n, 1);

    // observers: parents list their children and the children list the parent back
    let links = 0;
    for (const p of users.filter((u) => u.role === 'parent' || u.role === 'guardian')) {
      assert.notEqual(p.agentSourcedIds, '');
      for (const childId of p.agentSourcedIds.split(',')) {
        const child = userById.get(childId);
        assert.equal(child?.role, 'student');
        assert.ok(child.agentSourcedIds.split(',').includes(p.sourcedId));
        links++;
      }
    }
    const backLinks = users.filter((u) => u.role === 'student').reduce((n, s) => n + (s.agentSourcedIds ? s.agentSourcedIds.split(',').length : 0), 0);
    assert.equal(backLinks, links);
    assert.ok(links >= 100);
  });

  it("the 'changed' variant differs in about 5% of the users, classes and enrollments", () => {
    const diff = (name: string, field?: string) => {
      const base = new Map(readCsv(a.csvDir, name).rows.map((r) => [r.sourcedId, r]));
      const next = readCsv(changed.csvDir, name).rows;
      let edited = 0;
      let added = 0;
      let fieldEdits = 0;
      for (const r of next) {
        const old = base.get(r.sourcedId);
        if (!old) added++;
        else if (JSON.stringify(old) !== JSON.stringify(r)) {
          edited++;
          if (field && old[field] !== r[field]) fieldEdits++;
        }
      }
      const nextIds = new Set(next.map((r) => r.sourcedId));
      const removed = [...base.keys()].filter((id) => !nextIds.has(id)).length;
      return { total: base.size, edited, added, removed, fieldEdits };
    };
    const users = diff('users');
    assert.ok(users.edited / users.total > 0.03 && users.edited / users.total < 0.08, `users edited ${users.edited}/${users.total}`);
    assert.ok(users.added > 0 && users.added < users.total * 0.01, `new users ${users.added}`);
    assert.equal(users.removed, 0);
    const classes = diff('classes', 'title');
    assert.ok(classes.edited / classes.total > 0.02 && classes.edited / classes.total < 0.09, `classes edited ${classes.edited}`);
    assert.equal(classes.fieldEdits, classes.edited);
    const enr = diff('enrollments', 'endDate');
    assert.ok(enr.edited / enr.total > 0.04 && enr.edited / enr.total < 0.06, `enrollments edited ${enr.edited}`);
    assert.equal(enr.fieldEdits, enr.edited);
    assert.ok(enr.added / enr.total > 0.007 && enr.added / enr.total < 0.015, `enrollments added ${enr.added}`);
    assert.ok(enr.removed / enr.total > 0.006 && enr.removed / enr.total < 0.015, `enrollments removed ${enr.removed}`);
    for (const f of ['orgs', 'academicSessions', 'courses']) {
      assert.equal(fs.readFileSync(path.join(a.csvDir, `${f}.csv`), 'utf8'), fs.readFileSync(path.join(changed.csvDir, `${f}.csv`), 'utf8'), `${f}.csv unchanged`);
    }
  });
});
