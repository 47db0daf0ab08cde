/** The run report's renderings: mail subject, text, HTML, issues.csv, result JSON and .txt. Pure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issuesCsv } from '../../src/cli/output';
import { composeMail, reportFromResult, resultJson, resultText, shortDuration, type RunReport } from '../../src/report/run-report';
import { emptyCounts, type SyncResult } from '../../src/sync/types';
import { parseCsv } from '../cli/harness';
import { issue, sampleReport } from './fixtures';

const lines = (text: string) => text.split('\n');

/** every tag in an HTML document; the report only ever writes these */
const ALLOWED_TAGS = new Set(['!DOCTYPE', 'html', 'head', 'meta', 'title', 'body', 'h2', 'table', 'tr', 'th', 'td', 'p', 'strong', 'code']);
function tagNames(html: string): string[] {
  return [...html.matchAll(/<\/?([!a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => m[1]);
}

describe('composeMail', () => {
  it('puts domain, file, status and duration in the subject and the first lines', () => {
    const mail = composeMail(sampleReport());
    assert.equal(mail.subject, '[rosterdrop] district: roster.zip — completed with errors (1m 12s)');
    assert.deepEqual(lines(mail.text).slice(0, 4), [
      'Domain:      Grand Bend ISD (district)',
      'File:        roster.zip',
      'Status:      completed with errors',
      'Duration:    1m 12s',
    ]);
    assert.match(mail.text, /^Run: +42$/m);
    assert.match(mail.text, /^Uploaded by: district\/alice$/m);
    assert.match(mail.text, /^Finished: +2025-01-31 14:05:12Z$/m);
    for (const [label, value] of [['Domain', 'Grand Bend ISD (district)'], ['File', 'roster.zip'], ['Status', 'completed with errors'], ['Duration', '1m 12s']]) {
      assert.ok(mail.html.includes(`<th style="text-align:left;padding:1px 12px 1px 0;">${label}</th><td style="padding:1px 0;">${value}</td>`), label);
    }
  });

  it('shows created / updated / unchanged / removed / restored per entity, in text and HTML', () => {
    const { text, html } = composeMail(sampleReport());
    const table = lines(text);
    const header = table.findIndex((l) => /^\s+created\s+updated\s+unchanged\s+removed\s+restored$/.test(l));
    assert.ok(header > 0, 'the header row');
    const rows = table.slice(header + 1, header + 6).map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows, [
      ['domains', '0', '1', '3', '0', '0'],
      ['users', '5', '2', '1,200', '1', '0'],
      ['observers', '0', '0', '0', '0', '0'],
      ['courses', '0', '0', '0', '0', '0'],
      ['enrollments', '40', '0', '9,000', '12', '3'],
    ]);
    assert.equal(table[header - 1], 'Changes:');
    const htmlRow = /<tr><th[^>]*>users<\/th>((?:<td[^>]*>[^<]*<\/td>){5})<\/tr>/.exec(html);
    assert.ok(htmlRow, 'users row in HTML');
    assert.deepEqual([...htmlRow[1].matchAll(/>([^<]*)<\/td>/g)].map((m) => m[1]), ['5', '2', '1,200', '1', '0']);
  });

  it('lists the first errors with file, line, column, rule and message; warnings are left to the CSV', () => {
    const { text, html } = composeMail(sampleReport());
    const first = lines(text).filter((l) => /^ {2}\S/.test(l));
    assert.deepEqual(first, [
      '  users.csv:10:username value.required: username is blank (sourcedId u10)',
      '  enrollments.csv:7:classSourcedId ref.unknown: class "c9" is not in classes.csv (sourcedId e7)',
      '  classes.csv:3 csv.row_width: =cmd|calc row has 9 fields, the header 10',
    ]);
    assert.match(text, /^Issues: 3 errors, 1 warning, 0 info\. All are in the attached issues\.csv\.$/m);
    assert.match(text, /^First 3 errors \(file:line:column rule: message\):$/m);
    assert.ok(html.includes('<td style="padding:2px 8px;border:1px solid #d0d7de;">enrollments.csv</td><td style="padding:2px 8px;border:1px solid #d0d7de;">7</td>'
      + '<td style="padding:2px 8px;border:1px solid #d0d7de;">classSourcedId</td><td style="padding:2px 8px;border:1px solid #d0d7de;">ref.unknown</td>'));
    assert.ok(!text.includes('value.grade') && !html.includes('value.grade'), 'warnings are not listed');
  });

  it('stops after maxErrors (default 20) and says how many more there are, including those not kept', () => {
    const many = Array.from({ length: 30 }, (_, n) => issue({ line: n + 2, sourcedId: `u${n}` }));
    const r = sampleReport({ issues: many, issueTotals: { error: 35, warning: 0, info: 0 }, issuesDropped: 5 });
    const byDefault = composeMail(r).text;
    assert.equal(lines(byDefault).filter((l) => l.startsWith('  users.csv:')).length, 20);
    assert.match(byDefault, /^ {2}… 15 more errors \(see issues\.csv\)$/m);
    assert.match(byDefault, /^ {2}5 further issues were counted but not kept \(not in issues\.csv\)\.$/m);
    const three = composeMail(r, { maxErrors: 3 });
    assert.equal(lines(three.text).filter((l) => l.startsWith('  users.csv:')).length, 3);
    assert.match(three.html, /… 32 more errors/);
    assert.equal(lines(composeMail(r, { maxErrors: 0 }).text).filter((l) => l.startsWith('  users.csv:')).length, 0);
  });

  it('attaches every kept issue as issues.csv, formulas neutralized', () => {
    const r = sampleReport();
    const { attachments } = composeMail(r);
    assert.equal(attachments.length, 1);
    const [csv] = attachments;
    assert.equal(csv.filename, 'issues.csv');
    assert.equal(csv.contentType, 'text/csv; charset=utf-8');
    assert.equal(csv.content, issuesCsv(r.issues));
    const rows = parseCsv(csv.content);
    assert.deepEqual(rows[0], ['severity', 'code', 'file', 'line', 'column', 'sourcedId', 'message']);
    assert.equal(rows.length, 5);
    assert.deepEqual(rows[2], ['warning', 'value.grade', 'users.csv', '11', 'grades', 'u11', 'grade "13" is not a CEDS code']);
    assert.equal(rows[4][6], "'=cmd|calc row has 9 fields, the header 10", 'a formula is neutralized');
    assert.deepEqual(composeMail(sampleReport({ issues: [], issueTotals: { error: 0, warning: 0, info: 0 }, status: 'succeeded' })).attachments, [],
      'no empty attachment');
  });

  it('escapes everything from the upload in HTML, and keeps it on one line in text and subject', () => {
    const hostile = sampleReport({
      fileName: '<img src=x onerror=alert(1)>\r\nBcc: victim@example.com\u202egpj.zip',
      message: 'rejected: <script>alert("x")</script> & more',
      issues: [issue({ file: '<b>users.csv</b>', column: '"><svg onload=alert(2)>', sourcedId: "'><iframe src=//evil>", message: '<a href="http://evil">click</a>' })],
      issueTotals: { error: 1, warning: 0, info: 0 },
    });
    const mail = composeMail(hostile);
    for (const tag of tagNames(mail.html)) assert.ok(ALLOWED_TAGS.has(tag), `unexpected tag <${tag}> in the HTML`);
    assert.ok(mail.html.includes('&lt;img src=x onerror=alert(1)&gt; Bcc: victim@example.com gpj.zip'));
    assert.ok(mail.html.includes('rejected: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more'));
    assert.ok(mail.html.includes('&#39;&gt;&lt;iframe src=//evil&gt;'));
    assert.ok(mail.html.includes('&lt;a href=&quot;http://evil&quot;&gt;click&lt;/a&gt;'));
    assert.ok(!/[\r\n\u202e]/.test(mail.subject), 'the subject is one line without direction overrides');
    assert.equal(mail.subject, '[rosterdrop] district: <img src=x onerror=alert(1)> Bcc: victim@example.com gpj.zip — completed with errors (1m 12s)');
    assert.equal(lines(mail.text)[1], 'File:        <img src=x onerror=alert(1)> Bcc: victim@example.com gpj.zip');
    assert.ok(!mail.text.includes('\u202e') && !mail.text.includes('\r'));
  });

  it('reports a failed run: the reason, the whole-upload issue, no changes', () => {
    const counts = emptyCounts();
    const failed = sampleReport({
      status: 'failed', message: 'rejected: The file is not a readable zip archive', counts,
      issues: [issue({ code: 'zip.unreadable', file: null, line: null, column: null, sourcedId: null, message: 'The file is not a readable zip archive' })],
      issueTotals: { error: 1, warning: 0, info: 0 }, durationMs: 83,
    });
    const mail = composeMail(failed);
    assert.equal(mail.subject, '[rosterdrop] district: roster.zip — failed (83 ms)');
    assert.equal(lines(mail.text)[2], 'Status:      failed');
    assert.match(mail.text, /^rejected: The file is not a readable zip archive$/m);
    assert.match(mail.text, /^ {2}\(upload\) zip\.unreadable: The file is not a readable zip archive$/m);
    assert.match(mail.html, /<h2 style="[^"]*color:#cf222e;">failed<\/h2>/);
    // no table of zeros: a failed (or refused) run rolled back
    for (const rendered of [mail.text, mail.html, resultText(failed), resultText({ ...failed, status: 'refused', counts: sampleReport().counts })]) {
      assert.ok(!/created|unchanged/.test(rendered), 'no counts table');
      assert.match(rendered, /Nothing was changed\./);
    }
  });

  it('says that a forced run was forced, in the text, the HTML and the JSON', () => {
    const forced = sampleReport({ forced: true });
    const expected = /^Run: +42 \(forced: past the safety threshold, even if identical to the last file\)$/m;
    assert.match(resultText(forced), expected);
    assert.match(composeMail(forced).text, expected);
    assert.match(composeMail(forced).html, /42 \(forced: past the safety threshold/);
    assert.equal(resultJson(forced).forced, true);
    assert.equal(resultJson(sampleReport()).forced, false);
    assert.doesNotMatch(resultText(sampleReport()), /forced/);
  });

  it('reports a skipped run: no counts, no duration, no attachment', () => {
    const skipped = sampleReport({
      status: 'skipped', message: 'the same file (same SHA-256) was already synced in run 41', counts: null, issues: [],
      issueTotals: { error: 0, warning: 0, info: 0 }, startedAt: null, durationMs: null,
    });
    const mail = composeMail(skipped);
    assert.equal(mail.subject, '[rosterdrop] district: roster.zip — skipped');
    assert.equal(lines(mail.text)[3], 'Duration:    –');
    assert.match(mail.text, /^No sync ran\.$/m);
    assert.ok(!/created/.test(mail.text) && !/created/.test(mail.html));
    assert.match(mail.text, /already synced in run 41/);
    assert.deepEqual(mail.attachments, []);
    assert.ok(!/^Started:/m.test(mail.text));
    assert.equal(resultJson(skipped).counts, null);
    assert.equal(resultJson(skipped).startedAt, null);
  });

  it('says when a run only validated, and when its apply would be refused', () => {
    const validated = sampleReport({ status: 'validated', validateOnly: true });
    const mail = composeMail(validated);
    assert.equal(mail.subject, '[rosterdrop] district: roster.zip — validated with errors (1m 12s)');
    assert.match(mail.text, /^Run: +42 \(validation only: nothing was changed\)$/m);
    assert.match(mail.text, /^What an apply would change \(nothing was changed\):$/m);
    const refusal = issue({ severity: 'warning', code: 'apply.safety_threshold', file: null, line: null, column: null, sourcedId: null,
      message: 'an apply would be refused: it would remove 40% of users (threshold 10%)' });
    const wouldRefuse = sampleReport({ status: 'validated', validateOnly: true, issues: [refusal], issueTotals: { error: 0, warning: 1, info: 0 } });
    assert.match(composeMail(wouldRefuse).subject, /— validated: an apply would be refused \(1m 12s\)$/);
    const clean = sampleReport({ status: 'validated', validateOnly: true, issues: [], issueTotals: { error: 0, warning: 0, info: 0 } });
    assert.match(composeMail(clean).subject, /— validated \(1m 12s\)$/);
    assert.match(composeMail(sampleReport({ status: 'failed', validateOnly: true })).subject, /— failed \(validation only\) /);
  });
});

describe('reports with many issues', () => {
  // 3,000 issues as big as an issue can be (a 300-character sourcedId, a 2,000-character message): 6.9 MB as CSV
  const big = Array.from({ length: 3000 }, (_, n) => issue({ line: n + 2, sourcedId: `${n}`.padEnd(300, 's'), message: `${n}`.padEnd(2000, 'm') }));
  const many = sampleReport({ issues: big, issueTotals: { error: 3000, warning: 0, info: 0 }, issuesFile: 'results/roster.zip.issues.csv' });

  it('the mail attaches at most 1 MiB of issues and says how many it left out and where all are', () => {
    const mail = composeMail(many);
    const csv = mail.attachments[0].content;
    assert.ok(Buffer.byteLength(csv) <= 1024 * 1024, `${Buffer.byteLength(csv)} bytes`);
    const attached = parseCsv(csv).length - 1;
    assert.ok(attached > 100 && attached < 3000, `${attached}`);
    assert.deepEqual(parseCsv(csv).slice(1).map((r) => r[3]), big.slice(0, attached).map((i) => String(i.line)), 'the first ones, in order');
    const sentence = `The attached issues.csv holds the first ${attached.toLocaleString('en-US')}; ${(3000 - attached).toLocaleString('en-US')} more issues were ` +
      'left out to keep this mail small. All 3,000 are in results/roster.zip.issues.csv in the upload folder.';
    assert.ok(mail.text.includes(`Issues: 3,000 errors, 0 warnings, 0 info. ${sentence}`), mail.text.slice(0, 2000));
    assert.ok(mail.html.includes(sentence));
    assert.ok(Buffer.byteLength(mail.text) < 64_000 && Buffer.byteLength(mail.html) < 64_000, 'the first 20 errors, each cut short');
    const noFile = composeMail({ ...many, issuesFile: undefined }).text;
    assert.match(noFile, /All 3,000 are in `rosterdrop run show 42 --issues-csv issues\.csv` on the server\./);
  });

  it('the JSON lists at most 1 MiB of issues and counts the rest; the .txt names the full list', () => {
    const json = resultJson(many);
    const listed = json.issues as unknown[];
    assert.ok(Buffer.byteLength(JSON.stringify(listed)) <= 1024 * 1024);
    assert.ok(listed.length > 100 && listed.length < 3000);
    assert.equal(json.issuesNotListed, 3000 - listed.length);
    assert.equal(json.issuesFile, 'results/roster.zip.issues.csv');
    assert.ok(Buffer.byteLength(JSON.stringify(json, null, 2)) < 1.2 * 1024 * 1024);
    const text = resultText(many);
    assert.match(text, /^Issues: 3,000 errors, 0 warnings, 0 info\. The full list is in results\/roster\.zip\.issues\.csv\.$/m);
    assert.ok(Buffer.byteLength(text) < 64_000);
  });
});

describe('shortDuration', () => {
  it('is compact', () => {
    assert.deepEqual([83, 4_250, 42_000, 72_000, 60_000, 7_530_000].map(shortDuration), ['83 ms', '4.2s', '42s', '1m 12s', '1m 0s', '2h 5m']);
    assert.equal(shortDuration(null), '');
  });
});

describe('result files', () => {
  it('resultJson has the documented fields, in order, with ISO dates, and survives JSON', () => {
    const r = sampleReport();
    const json = resultJson(r);
    assert.deepEqual(Object.keys(json), ['runId', 'domain', 'file', 'sha256', 'status', 'validateOnly', 'forced', 'message', 'counts', 'issueTotals',
      'issuesDropped', 'issues', 'issuesNotListed', 'issuesFile', 'startedAt', 'finishedAt', 'durationMs', 'uploadedBy']);
    const back = JSON.parse(JSON.stringify(json)) as Record<string, unknown>;
    assert.deepEqual(back.domain, { userspace: 'district', name: 'Grand Bend ISD' });
    assert.equal(back.file, 'roster.zip');
    assert.equal(back.status, 'completed_with_errors');
    assert.equal(back.startedAt, '2025-01-31T14:04:00.000Z');
    assert.equal(back.finishedAt, '2025-01-31T14:05:12.000Z');
    assert.deepEqual((back.counts as Record<string, unknown>).users, { created: 5, updated: 2, unchanged: 1200, removed: 1, restored: 0 });
    assert.deepEqual(back.issues, r.issues);
    assert.equal(back.issuesNotListed, 0);
    assert.equal(back.issuesFile, null, 'no issues file named when none was written');
    assert.deepEqual(Object.keys((back.issues as object[])[0]), ['severity', 'code', 'file', 'line', 'column', 'sourcedId', 'message']);
    assert.equal(back.uploadedBy, 'district/alice');
  });

  it('resultText starts with a status line a script can read, then the facts, counts, first errors and first warnings', () => {
    const text = resultText(sampleReport(), 2);
    const all = lines(text);
    assert.equal(all[0], 'completed_with_errors: roster.zip (run 42)');
    assert.equal(all[2], 'Domain:      Grand Bend ISD (district)');
    assert.match(text, /^users +5 +2 +1,200 +1 +0$/m);
    assert.deepEqual(all.filter((l) => /^ {2}\S/.test(l)), [
      '  users.csv:10:username value.required: username is blank (sourcedId u10)',
      '  enrollments.csv:7:classSourcedId ref.unknown: class "c9" is not in classes.csv (sourcedId e7)',
      '  … 1 more error',
      '  users.csv:11:grades value.grade: grade "13" is not a CEDS code (sourcedId u11)',
    ]);
    assert.match(text, /^First 1 warning \(file:line:column rule: message\):$/m);
    assert.ok(!text.includes('issues.csv'), 'the .txt has no attachment to point to');
    assert.ok(text.endsWith('\n'));
  });
});

describe('reportFromResult', () => {
  it('carries a SyncResult over with the domain and uploader', () => {
    const r0 = sampleReport();
    const result: SyncResult = {
      runId: 7, domainId: 3, status: 'validated', mode: 'validate', fileName: 'x.zip', sha256: 'cd'.repeat(32), counts: r0.counts!,
      issues: r0.issues, issueTotals: { error: 3, warning: 1, info: 0 }, issuesDropped: 2, message: 'm',
      startedAt: new Date('2025-02-01T00:00:00Z'), finishedAt: new Date('2025-02-01T00:00:05Z'), durationMs: 5000, timings: { read: 1 }, passwordsPending: 0,
    };
    const r: RunReport = reportFromResult(result, { domain: { userspace: 'd', name: 'D' }, uploadedBy: null, forced: true });
    assert.deepEqual(r, {
      runId: 7, domain: { userspace: 'd', name: 'D' }, fileName: 'x.zip', uploadedBy: null, sha256: 'cd'.repeat(32), status: 'validated',
      validateOnly: true, forced: true, message: 'm', counts: r0.counts, issues: r0.issues, issueTotals: { error: 3, warning: 1, info: 0 }, issuesDropped: 2,
      startedAt: result.startedAt, finishedAt: result.finishedAt, durationMs: 5000,
    });
  });
});

describe('the report of a held run', () => {
  const held = (link: string | null): RunReport => sampleReport({
    runId: 42, status: 'held', message: 'held: the sync would remove or deactivate 21 of 200 managed users (10.5%), more than the safety threshold of 10%.',
    held: { removals: 21, link, expiresInDays: 7 },
  });

  it('says why, how many removals, and links to the run\'s page (text and HTML)', () => {
    const mail = composeMail(held('https://lms.example:8443/runs/42'));
    assert.match(mail.subject, /— held for review/);
    assert.match(mail.text, /This sync is held for review: nothing was changed\. It would remove or deactivate 21 entities/);
    assert.match(mail.text, /approve or discard it: https:\/\/lms\.example:8443\/runs\/42\n/);
    assert.match(mail.text, /expires in 7 days/);
    assert.match(mail.text, /What approving it would change \(nothing was changed yet\):/);
    assert.match(mail.html, /<a href="https:\/\/lms\.example:8443\/runs\/42">Review run 42: approve or discard it<\/a>/);
    assert.equal(resultJson(held('https://lms.example:8443/runs/42')).held instanceof Object, true);
  });

  it('without a public address, names the CLI commands instead', () => {
    const mail = composeMail(held(null));
    assert.doesNotMatch(mail.text, /https?:/);
    assert.match(mail.text, /See `rosterdrop run show 42` on the server; `rosterdrop run approve 42` applies it/);
    assert.match(resultText(held(null)), /^held: roster/);
  });
});
