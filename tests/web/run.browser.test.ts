/**
 * The run page in a real browser over HTTPS: the issues table of a run with thousands of issues
 * filtered by severity and code, a queued run followed live to its end, another domain's admin
 * refused (404). With ROSTERDROP_SCREENSHOTS=1 it also takes docs/images/overview.png and run.png.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SyncRun } from '../../src/db/entities';
import { emptyCounts, type SyncCounts } from '../../src/sync/types';
import { browserSkip, launchBrowser, newContext, signIn } from '../helpers/browser';
import { REPO_ROOT } from '../helpers/paths';
import { insertIssues, insertRun, type IssueSpec } from '../helpers/runs';
import { DISTRICT_ADMIN, OTHER_ADMIN, startHttps, webFixture, type WebFixture } from '../helpers/web';
import type { WebServer } from '../../src/web/server';

const ISSUES = 2400;

/** Issues as a real district's file produces them: a few errors, many warnings, some info. */
function realisticIssue(i: number): IssueSpec {
  const n = i + 2;
  switch (i % 6) {
    case 0: return { severity: 'error', code: 'value.required', file: 'users.csv', line: n, column: 'username', sourcedId: `stu-${10_000 + i}`, message: 'username is required for an active user' };
    case 1: return { severity: 'warning', code: 'value.enum_case', file: 'users.csv', line: n, column: 'role', sourcedId: `stu-${10_000 + i}`, message: 'role "Student" is the allowed token "student" in another case: accepted as "student"' };
    case 2: return { severity: 'warning', code: 'value.grade', file: 'users.csv', line: n, column: 'grades', sourcedId: `stu-${10_000 + i}`, message: 'grade "Grade 9" is not a CEDS code such as 09' };
    case 3: return { severity: 'info', code: 'value.enum_case', file: 'enrollments.csv', line: n, column: 'role', sourcedId: `enr-${i}`, message: 'role "Teacher" accepted as "teacher"' };
    case 4: return { severity: 'warning', code: 'value.date_order', file: 'enrollments.csv', line: n, column: 'endDate', sourcedId: `enr-${i}`, message: 'endDate 2026-06-01 is before beginDate 2026-08-20' };
    default: return { severity: 'info', code: 'csv.row_width', file: 'classes.csv', line: n, column: null, sourcedId: `cls-${i}`, message: 'the row has 2 empty fields more than the header: dropped' };
  }
}

function counts(users: [number, number, number, number], enrollments: [number, number, number, number], classes: [number, number, number, number]): SyncCounts {
  const c = emptyCounts();
  const set = (k: keyof SyncCounts, [created, updated, unchanged, removed]: [number, number, number, number]) => { c[k] = { created, updated, unchanged, removed, restored: 0 }; };
  set('users', users); set('enrollments', enrollments); set('courses', classes);
  c.domains = { created: 0, updated: 1, unchanged: 3, removed: 0, restored: 0 };
  return c;
}

describe('run page in a browser', { skip: browserSkip() }, () => {
  let f: WebFixture;
  let server: WebServer & { url: string };
  let browser: Browser;
  let issuesRun: SyncRun;
  before(async () => {
    f = await webFixture();
    const d = f.domains;
    const day = 24 * 3600_000;
    const at = (daysAgo: number) => new Date(Date.now() - daysAgo * day);
    await insertRun(f.ds, d.district.id, { status: 'succeeded', fileName: 'district-2026-12-01.zip', uploadedBy: 'district/sis-export', countsOf: counts([1840, 12, 0, 0], [9600, 0, 0, 0], [410, 0, 0, 0]), startedAt: at(6), finishedAt: at(6), durationMs: 48_200, message: 'applied' });
    await insertRun(f.ds, d.school.id, { status: 'succeeded', fileName: 'school-a-weekly.zip', uploadedBy: 'school-a/admin', source: 'ftps', countsOf: counts([3, 21, 690, 1], [40, 2, 3100, 12], [0, 4, 120, 0]), startedAt: at(2), finishedAt: at(2), durationMs: 6_300, message: 'applied' });
    issuesRun = await insertRun(f.ds, d.district.id, {
      status: 'completed_with_errors', fileName: 'district-2026-12-07.zip', uploadedBy: 'district/sis-export', source: 'ftps', sizeBytes: 4_817_203,
      countsOf: counts([22, 140, 1690, 3], [310, 44, 9250, 61], [2, 9, 399, 0]), startedAt: at(0.02), finishedAt: at(0.019), durationMs: 51_870,
      timings: JSON.stringify({ read: 8_120, validate: 5_940, plan: 3_410, apply: 31_900, commit: 2_500 }),
      message: `applied; ${ISSUES / 6} rows with errors were skipped`,
    });
    await insertIssues(f.ds, issuesRun, ISSUES, realisticIssue);
    await insertRun(f.ds, d.school.id, { status: 'held' as SyncRun['status'], fileName: 'school-a-end-of-term.zip', uploadedBy: 'school-a/admin', countsOf: counts([0, 0, 540, 160], [0, 0, 2100, 1100], [0, 0, 100, 20]), message: 'held: it would remove 23% of managed users (threshold 10%)' });
    await insertRun(f.ds, d.district.id, { status: 'running', fileName: 'district-2026-12-08.zip', uploadedBy: 'district/sis-export', counts: null, timings: null, startedAt: new Date(Date.now() - 14_000) });
    server = await startHttps(f.ctx, f.dataDir);
    browser = await launchBrowser();
  });
  after(async () => { await browser?.close(); await server?.stop(); await f?.close(); });

  it('filters the issues table of a run by severity and code', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, DISTRICT_ADMIN);
    if (process.env.ROSTERDROP_SCREENSHOTS === '1') await screenshot(page, 'overview.png');
    await page.goto(`${server.url}/runs/${issuesRun.id}`);
    await page.getByText(`${ISSUES} issues; page 1 of ${ISSUES / 50}`).waitFor();
    if (process.env.ROSTERDROP_SCREENSHOTS === '1') await screenshot(page, 'run.png', 1700);
    await page.getByLabel('Severity').selectOption('warning');
    await page.getByLabel('Code').selectOption('value.enum_case');
    await page.getByRole('button', { name: 'Filter' }).click();
    const want = Array.from({ length: ISSUES }, (_, i) => realisticIssue(i)).filter((i) => i.severity === 'warning' && i.code === 'value.enum_case').length;
    await page.getByText(`${want} issues match; page 1 of ${Math.ceil(want / 50)}`).waitFor();
    assert.equal(await page.getByLabel('Severity').inputValue(), 'warning', 'the form shows the filter in use');
    const rows = page.locator('table.issues tbody tr');
    assert.equal(await rows.count(), 50);
    for (const text of await rows.allInnerTexts()) assert.match(text, /^warning\s+users\.csv:\d+:role\s+value\.enum_case\s+stu-\d+\s+role "Student"/);
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.getByText(`${want} issues match; page 2 of ${Math.ceil(want / 50)}`).waitFor();
    assert.equal(await rows.count(), Math.min(50, want - 50));
    await context.close();
  });

  it('follows a queued run live: the status changes to the final one without a reload', async () => {
    const queued = await insertRun(f.ds, f.domains.district.id, { status: 'queued', fileName: 'late.zip', counts: null, timings: null, startedAt: null });
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, DISTRICT_ADMIN);
    await page.goto(`${server.url}/runs/${queued.id}`);
    await page.locator('#run-live .status.queued').waitFor();
    await f.ds.getRepository(SyncRun).update({ id: queued.id }, { status: 'running', startedAt: new Date() });
    await page.locator('#run-live .status.running').waitFor();
    await f.ds.getRepository(SyncRun).update({ id: queued.id }, { status: 'validated', finishedAt: new Date(), message: 'the file is valid' });
    await page.locator('#run-live .status.validated').waitFor();
    assert.equal(await page.locator('#run-live').getAttribute('data-live-src'), null, 'final: polling stopped');
    assert.match(await page.locator('#run-live').innerText(), /The run ended .*the file is valid/);
    await context.close();
  });

  it('refuses another domain\'s admin with the 404 page', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, OTHER_ADMIN);
    const res = await page.goto(`${server.url}/runs/${issuesRun.id}`);
    assert.equal(res?.status(), 404);
    await page.getByText('There is nothing here, or nothing you may see.').waitFor();
    assert.equal(await page.getByText('district-2026-12-07.zip').count(), 0);
    const csv = await page.goto(`${server.url}/runs/${issuesRun.id}/issues.csv`);
    assert.equal(csv?.status(), 404);
    await context.close();
  });
});

async function screenshot(page: Page, name: string, height = 900): Promise<void> {
  const dir = path.join(REPO_ROOT, 'docs', 'images');
  fs.mkdirSync(dir, { recursive: true });
  await page.setViewportSize({ width: 1280, height });
  await page.screenshot({ path: path.join(dir, name), fullPage: false });
}
