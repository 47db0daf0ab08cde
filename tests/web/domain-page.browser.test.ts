/**
 * The domain page in a real browser (Debian's Chromium headless shell) against the whole daemon in
 * this process (FTPS, watcher, queue runner and web admin on a real database): sign in, upload with
 * "Validation only" and without, follow the runs to their end on the page, filter the history by
 * status; another domain's administrator is refused.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Daemon } from '../../src/daemon/daemon';
import { createDomain } from '../../src/db/domains';
import { SyncRun } from '../../src/db/entities';
import { createUser } from '../../src/db/users';
import { browserSkip, launchBrowser, newContext, signIn as signInAs } from '../helpers/browser';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { standardRoster } from '../helpers/roster';
import { PASSWORD, startWebDaemon } from '../helpers/web';
import { tempDir } from '../helpers/zip';

describe('domain page in a browser', { skip: browserSkip() }, () => {
  const tmp = tempDir('rosterdrop-domain-page-');
  let db: TestDatabase;
  let daemon: Daemon;
  let browser: Browser;
  let base: string;
  let zip: string;

  before(async () => {
    db = await openTestDatabase('sqlite');
    const district = await createDomain(db.ds, { userspace: 'district', name: 'District' });
    const other = await createDomain(db.ds, { userspace: 'other', name: 'Other district' });
    for (const d of [district, other]) await createUser(db.ds, { domainId: d.id, username: 'admin', admin: true, password: PASSWORD });
    zip = await standardRoster(3).zip(tmp.dir, 'roster.zip');
    ({ daemon, base } = await startWebDaemon(db.ds, path.join(tmp.dir, 'data'), { ROSTERDROP_QUEUE_POLL_S: '1' }));
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

  /** Uploads through the form; the id of the run it was redirected to. */
  async function upload(page: Page, validateOnly: boolean): Promise<number> {
    await page.goto(`${base}/domains/district`);
    await page.getByLabel('Roster zip').setInputFiles(zip);
    if (validateOnly) await page.getByLabel('Validation only').check();
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/\/runs\/\d+$/);
    return Number(/\/runs\/(\d+)$/.exec(page.url())?.[1]);
  }

  /** Opens the domain page and waits (live fragment, or the history if it was over already) for the run's final status. */
  async function followToEnd(page: Page, runId: number, status: string): Promise<void> {
    await page.goto(`${base}/domains/district`);
    await page.locator(`tr[data-run="${runId}"][data-status="${status}"]`).first().waitFor({ timeout: 60_000 });
  }

  it('uploads with "Validation only", then without, and follows both runs to their end', async () => {
    const page = await signIn('district/admin');
    await page.goto(`${base}/domains/district`);
    assert.equal(await page.getByRole('heading', { name: 'District' }).count(), 1);

    const validated = await upload(page, true);
    await followToEnd(page, validated, 'validated');
    const applied = await upload(page, false);
    await followToEnd(page, applied, 'succeeded');

    const runs = await db.ds.getRepository(SyncRun).find({ order: { id: 'ASC' } });
    assert.deepEqual(runs.map((r) => [r.id, r.source, r.uploadedBy, r.mode, r.status]),
      [[validated, 'web', 'district/admin', 'validate', 'validated'], [applied, 'web', 'district/admin', 'apply', 'succeeded']]);
    await page.reload(); // the history under the live part is as of the page's load
    const row = page.locator(`table.history tr[data-run="${applied}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /roster\.zip/);
    assert.ok(Number(await row.locator('td').nth(6).innerText()) > 0, 'the first sync created rows: its changes are shown');
    assert.equal(await page.locator('svg.chart rect.bar').count(), 2, 'the chart has both finished runs');
    assert.equal(fs.readdirSync(path.join(tmp.dir, 'data', 'drop', 'district')).filter((n) => n.startsWith('.web-')).length, 0);
  });

  it('filters the history by status', async () => {
    const page = await signIn('district/admin');
    await page.goto(`${base}/domains/district`);
    assert.equal(await page.locator('table.history tbody tr').count(), 2);
    await page.getByLabel('Status').selectOption('validated');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=validated/);
    const statuses = await page.locator('table.history tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    assert.deepEqual(statuses, ['validated']);
    await page.getByLabel('Source').selectOption('ftps');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/source=ftps/);
    assert.equal(await page.locator('table.history tbody tr').count(), 0, 'no FTPS run');
  });

  it('refuses another domain\'s administrator with a 404', async () => {
    const page = await signIn('other/admin');
    const res = await page.goto(`${base}/domains/district`);
    assert.equal(res?.status(), 404);
    assert.equal(await page.getByLabel('Roster zip').count(), 0);
  });
});
