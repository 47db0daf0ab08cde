/**
 * A real browser for the web admin's tests: Debian's Chromium headless shell driven by
 * playwright-core (Playwright's own browser download cannot work here). Under CI a missing
 * browser fails the suite; elsewhere it is said loudly and the browser tests skip.
 */
import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PASSWORD } from './web';

const CANDIDATES = [
  process.env.ROSTERDROP_TEST_CHROMIUM,
  '/usr/lib/chromium/chromium-headless-shell', // the binary; /usr/bin's is a wrapper script
  '/usr/bin/chromium-headless-shell',
  '/usr/lib/chromium/headless_shell',
  '/usr/bin/chromium',
].filter((p): p is string => !!p);

export function chromiumPath(): string | null {
  return CANDIDATES.find((p) => fs.existsSync(p)) ?? null;
}

/** The reason to skip browser tests outside CI, or false to run them. */
export function browserSkip(): string | false {
  if (chromiumPath() || process.env.CI) return false;
  const reason = 'Chromium is not installed (apt-get install chromium chromium-headless-shell): browser tests skipped (CI would fail)';
  process.stderr.write(`\n!! ${reason}\n\n`);
  return reason;
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('Chromium is required (CI is set): apt-get install chromium chromium-headless-shell');
  return chromium.launch({ executablePath, args: ['--no-sandbox'] });
}

/** A fresh browser profile that accepts the daemon's self-signed certificate, as an admin who clicked through. */
export function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
}

/** Signs in through the form, by its labels, and waits for the overview. */
export async function signIn(page: Page, url: string, login: string, password = PASSWORD): Promise<void> {
  await page.goto(`${url}/login`);
  await page.getByLabel('Login').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}
