/** The CLI's pure parts: CSV quoting, issue lines, tables, the exit-code rule and the progress line. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLogin } from '../../src/cli/commands/user';
import { CliError, EXIT, syncExitCode } from '../../src/cli/errors';
import { csvField, formatDuration, formatIssue, issuesCsv, table } from '../../src/cli/output';
import { bar, ProgressBar, renderProgress } from '../../src/cli/progress';
import type { SyncIssue } from '../../src/oneroster/issues';
import { parseCsv } from './harness';

const issue = (over: Partial<SyncIssue>): SyncIssue => ({
  severity: 'error', code: 'csv.row_width', file: 'users.csv', line: 10, column: null, sourcedId: '207270', message: 'bad row', ...over,
});

describe('CSV export', () => {
  it('quotes per RFC 4180 and round-trips through a parser', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField(null), '');
    assert.equal(csvField(12), '12');
    assert.equal(csvField(-3), '-3', 'numbers are not formulas');
    assert.equal(csvField('=HYPERLINK("http://x")'), '"\'=HYPERLINK(""http://x"")"', 'formula text is neutralized');
    assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
    const issues = [issue({}), issue({ severity: 'warning', code: 'value.grade', line: 3, column: 'grades', sourcedId: null, message: 'grade "13", not, CEDS\r\nsecond line' }),
      issue({ file: null, line: null, code: 'zip.unreadable', sourcedId: null, message: 'not a zip' })];
    const text = issuesCsv(issues);
    assert.ok(text.endsWith('\r\n'));
    assert.deepEqual(parseCsv(text), [
      ['severity', 'code', 'file', 'line', 'column', 'sourcedId', 'message'],
      ['error', 'csv.row_width', 'users.csv', '10', '', '207270', 'bad row'],
      ['warning', 'value.grade', 'users.csv', '3', 'grades', '', 'grade "13", not, CEDS\r\nsecond line'],
      ['error', 'zip.unreadable', '', '', '', '', 'not a zip'],
    ]);
  });
});

describe('human output', () => {
  it('formats an issue as file:line [column] code: message', () => {
    assert.equal(formatIssue(issue({ column: 'username' })), 'error   users.csv:10 [username] csv.row_width: bad row');
    assert.equal(formatIssue(issue({ file: null, line: null, code: 'zip.unreadable', message: 'a\nb' })), 'error   (upload) zip.unreadable: a b');
  });

  it('aligns tables, numbers to the right', () => {
    assert.equal(table(['kind', 'n'], [['users', 8], ['enrollments', 120]], [1]), 'kind           n\nusers          8\nenrollments  120');
  });

  it('formats durations', () => {
    assert.equal(formatDuration(83), '83 ms');
    assert.equal(formatDuration(1534), '1.5 s');
    assert.equal(formatDuration(192_000), '3 min 12 s');
  });

  it('splits a login at the first slash', () => {
    assert.deepEqual(parseLogin('gb/Mary Archer'), { userspace: 'gb', username: 'Mary Archer' });
    assert.deepEqual(parseLogin('gb/a/b'), { userspace: 'gb', username: 'a/b' });
    for (const bad of ['gb', '/x', 'gb/']) assert.throws(() => parseLogin(bad), CliError);
  });
});

describe('sync exit codes', () => {
  const safety = [{ code: 'apply.safety_threshold' as const }];
  it('maps every status, and makes a validation run exit like its apply would', () => {
    assert.equal(syncExitCode('succeeded', [], 0, false), EXIT.ok);
    assert.equal(syncExitCode('completed_with_errors', [], 2, false), EXIT.completedWithErrors);
    assert.equal(syncExitCode('failed', [], 1, false), EXIT.failed);
    assert.equal(syncExitCode('refused', safety, 1, false), EXIT.refused);
    assert.equal(syncExitCode('validated', [], 0, false), EXIT.ok);
    assert.equal(syncExitCode('validated', [], 3, false), EXIT.completedWithErrors);
    assert.equal(syncExitCode('validated', safety, 0, false), EXIT.refused);
    assert.equal(syncExitCode('validated', safety, 0, true), EXIT.ok, 'forced: the warning only says it is past the threshold');
    assert.deepEqual([EXIT.ok, EXIT.internal, EXIT.usage, EXIT.completedWithErrors, EXIT.failed, EXIT.refused, EXIT.database], [0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('progress bar', () => {
  it('renders a phase line with a bar when the total is known, cut to the terminal width', () => {
    assert.equal(bar(0.5, 10), '[█████░░░░░]  50%');
    assert.equal(bar(2, 4), '[████] 100%');
    const read = renderProgress({ phase: 'read', file: 'users.csv', done: 512 * 1024, total: 2 * 1024 * 1024 }, 75_000, 0, 200);
    assert.equal(read, '⠋  reading  users.csv  [██████░░░░░░░░░░░░░░░░░░]  25%  512.0 KB of 2.0 MB  1:15');
    assert.equal(renderProgress({ phase: 'apply', done: 0, total: 1 }, 3_000, 1, 200), '⠙  applying changes  0:03');
    assert.equal(renderProgress({ phase: 'passwords', done: 50, total: 200 }, 0, 0, 200).includes('50 of 200'), true);
    assert.equal([...renderProgress({ phase: 'read', file: 'enrollments.csv', done: 1, total: 2 }, 0, 0, 30)].length, 29);
  });

  it('redraws in place and wipes itself when stopped', async () => {
    const writes: string[] = [];
    const progress = new ProgressBar({ write: (s: string) => { writes.push(s); return true; }, columns: 120 }, 5);
    progress.update({ phase: 'read', file: 'users.csv', done: 1, total: 4 });
    await new Promise((r) => setTimeout(r, 40));
    progress.update({ phase: 'done', done: 1, total: 1 });
    assert.ok(writes.length >= 2);
    assert.match(writes[0], /^\r\x1b\[2K. {2}reading {2}users\.csv/);
    assert.equal(writes[writes.length - 1], '\r\x1b[2K');
    const count = writes.length;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(writes.length, count, 'no redraw after stop');
  });
});
