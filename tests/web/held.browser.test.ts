/**
 * A held run approved from its page, in a real browser (Debian's Chromium headless shell) against
 * the whole daemon in this process (FTPS, watcher, queue runner and web admin on a real database):
 * a roster is applied, then one removing most students ends `held` (over the safety threshold);
 * the administrator opens the run's page, sees the removals, filters them by entity, clicks
 * "Approve", and the page follows the same run to `succeeded`; the students are then deactivated
 * in the LMS.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Daemon } from '../../src/daemon/daemon';
import { createDomain } from '../../src/db/domains';
import { SyncRun, type Domain } from '../../src/db/entities';
import { createUser } from '../../src/db/users';
import { browserSkip, launchBrowser, newContext, signIn as signInAs } from '../helpers/browser';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { mustUser, setSettings } from '../helpers/lms';
import { standardRoster } from '../helpers/roster';
import { PASSWORD, startWebDaemon } from '../helpers/web';
import { tempDir } from '../helpers/zip';

const STUDENTS = 16;
const DROPPED = Array.from({ length: 12 }, (_, i) => `s${i + 1}`);

describe('held run approved from its page in a browser', { skip: browserSkip() }, () => {
  const tmp = tempDir('rosterdrop-held-browser-');
  let db: TestDatabase;
  let daemon: Daemon;
  let browser: Browser;
  let base: string;
  let district: Domain;

  before(async () => {
    db = await openTestDatabase('sqlite');
    district = await createDomain(db.ds, { userspace: 'district', name: 'District' });
    await createUser(db.ds, { domainId: district.id, username: 'admin', admin: true, password: PASSWORD });
    await setSettings(db.ds, district.id, { unsharedUsers: 'inactive' });
    ({ daemon, base } = await startWebDaemon(db.ds, path.join(tmp.dir, 'data'), { ROSTERDROP_QUEUE_POLL_S: '60' }));
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await db?.close();
    tmp.cleanup();
  });

  async function signIn(login: string): Promise<Page> {
    const page = await (await newContext(browser)).newPage();
    await signInAs(page, base, login);
    return page;
  }

  /** Uploads through the domain page and follows the run on its page (live) to `status`; its id. */
  async function uploadAndFollow(page: Page, zip: string, status: string): Promise<number> {
    await page.goto(`${base}/domains/district`);
    await page.getByLabel('Roster zip').setInputFiles(zip);
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/\/runs\/\d+$/);
    const id = Number(/\/runs\/(\d+)$/.exec(page.url())?.[1]);
    await page.locator(`#run-live .status.${status}`).waitFor({ timeout: 30_000 });
    return id;
  }

  it('holds a sync over the safety threshold; "Approve" on its page applies the same run, followed live to succeeded', async () => {
    const page = await signIn('district/admin');
    const roster = standardRoster(STUDENTS);
    await uploadAndFollow(page, await roster.zip(tmp.dir, 'roster.zip'), 'succeeded');
    for (const s of DROPPED) assert.equal((await mustUser(db.ds, district.id, s)).status, 'active');

    const smaller = roster.clone();
    for (const s of DROPPED) smaller.dropUser(s);
    const heldId = await uploadAndFollow(page, await smaller.zip(tmp.dir, 'roster.zip'), 'held');
    assert.equal((await db.ds.getRepository(SyncRun).findOneByOrFail({ id: heldId })).status, 'held');

    await page.reload();
    await page.getByRole('heading', { name: 'Held for review: nothing was changed yet' }).waitFor();
    await page.getByText(/over the safety threshold|threshold/).first().waitFor();
    const rows = page.locator('table.removals tbody tr');
    const listed = await rows.allInnerTexts();
    for (const s of DROPPED) assert.ok(listed.some((t) => new RegExp(`^users\\s+or-${s}\\s`).test(t)), `${s} is listed: ${listed.join(' | ')}`);
    assert.equal(listed.length, DROPPED.length, 'deactivating users keeps their enrollments: only the users are listed');
    await page.getByLabel('Entity').selectOption('courses');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByText('No courses would be removed.').waitFor();
    await page.getByLabel('Entity').selectOption('users');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/entity=users/);
    const users = await rows.allInnerTexts();
    assert.equal(users.length, DROPPED.length);
    assert.ok(users.every((t) => t.startsWith('users')));
    for (const s of DROPPED) assert.equal((await mustUser(db.ds, district.id, s)).status, 'active', 'nothing changed while held');

    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${base}/runs/${heldId}?decided=approved`);
    await page.getByText('Approved: the run is queued again').waitFor();
    // the live part follows the same run to its end
    await page.locator('#run-live .status.succeeded').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#run-live').getAttribute('data-live-src'), null, 'final: polling stopped');
    assert.equal(page.url(), `${base}/runs/${heldId}?decided=approved`, 'the same run id');

    const run = await db.ds.getRepository(SyncRun).findOneByOrFail({ id: heldId });
    assert.equal(run.status, 'succeeded');
    assert.equal(run.decidedBy, 'district/admin');
    assert.equal(run.approved, true);
    assert.equal(await db.ds.getRepository(SyncRun).count(), 2, 'approving made no new run');
    for (const s of DROPPED) assert.equal((await mustUser(db.ds, district.id, s)).status, 'inactive', `${s} deactivated`);
    for (const s of ['s13', 's16']) assert.equal((await mustUser(db.ds, district.id, s)).status, 'active');

    await page.reload();
    await page.locator('#run-decision').getByText('approved by district/admin').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0, 'no buttons once decided');
  });
});
