// Debian's chromium driven by playwright-core, opened on the editor of a running test server: the one setup the
// browser tests share.
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const noChromium = existsSync(CHROMIUM) ? undefined : `chromium is not installed at ${CHROMIUM} (apt-get install chromium)`;

/** Launch chromium, open `${base}/` and wait until the editor says it is ready. */
export async function openEditor(base: string, onPageError?: (message: string) => void): Promise<{ browser: Browser; page: Page }> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  if (onPageError) page.on('pageerror', (e) => onPageError(e.message));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => (window as any).kosmos?.ready === true, null, { timeout: 15_000 });
  return { browser, page };
}
