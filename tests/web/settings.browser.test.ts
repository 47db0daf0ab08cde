/**
 * The settings page in a real browser over HTTPS: an administrator changes settings by their
 * labels, sees them saved and in the change history; a bad value is refused next to its field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { SettingsChange } from '../../src/db/entities';
import { loadSettings } from '../../src/db/settings-store';
import { DEFAULT_SETTINGS } from '../../src/sync/settings';
import { browserSkip, launchBrowser, newContext, signIn } from '../helpers/browser';
import { DISTRICT_ADMIN, startHttps, webFixture, type WebFixture } from '../helpers/web';
import type { WebServer } from '../../src/web/server';

describe('settings page in a browser', { skip: browserSkip() }, () => {
  let f: WebFixture;
  let server: WebServer & { url: string };
  let browser: Browser;
  before(async () => {
    f = await webFixture();
    server = await startHttps(f.ctx, f.dataDir);
    browser = await launchBrowser();
  });
  after(async () => { await browser?.close(); await server?.stop(); await f?.close(); });

  it('changes settings by their labels, shows them saved and in the history', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, DISTRICT_ADMIN);
    await page.getByRole('link', { name: 'Settings' }).first().click();
    await page.getByRole('heading', { name: 'Settings of District' }).waitFor();
    await page.getByLabel('Unshared users').selectOption('inactive');
    await page.getByLabel('Safety threshold (%)').fill('25');
    await page.getByLabel('Notification emails').fill('registrar@district.example, it@district.example');
    await page.getByLabel('Ignore SIS dates').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved: 4 settings changed.' }).waitFor();
    assert.equal(await page.getByLabel('Unshared users').inputValue(), 'inactive');
    assert.equal(await page.getByLabel('Safety threshold (%)').inputValue(), '25');
    assert.equal(await page.getByLabel('Ignore SIS dates').isChecked(), true);
    const row = page.locator('table.history tr', { hasText: 'Unshared users' });
    assert.match(await row.innerText(), /district\/admin\s+web\s+Unshared users\s+nothing → inactive/);
    assert.deepEqual(await loadSettings(f.ds, f.domains.district.id), {
      ...DEFAULT_SETTINGS, unsharedUsers: 'inactive', safetyThresholdPercent: 25, ignoreSisDates: true,
      notificationEmails: ['registrar@district.example', 'it@district.example'],
    });

    // a bad value: nothing saved, the rule next to the field, what was typed kept
    await page.getByLabel('Unshared users').selectOption('delete');
    await page.getByLabel('Time zone').fill('Mars/Olympus');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('timeZone must be an IANA time zone such as America/Chicago').waitFor();
    assert.equal(await page.getByLabel('Time zone').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Unshared users').inputValue(), 'delete');
    assert.equal((await loadSettings(f.ds, f.domains.district.id)).unsharedUsers, 'inactive');
    assert.equal(await f.ds.getRepository(SettingsChange).count(), 4);
    await context.close();
  });
});
