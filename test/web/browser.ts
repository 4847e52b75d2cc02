// Debian's chromium driven by playwright-core, opened on the editor of a running test server: the one setup the
// browser tests share.
import { existsSync, mkdirSync } from 'node:fs';
import { after, before } from 'node:test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startServer, type TestServer } from '../server/helpers.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const noChromium = existsSync(CHROMIUM) ? undefined : `chromium is not installed at ${CHROMIUM} (apt-get install chromium)`;
/** Where the browser tests put their screenshots. */
export const SHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-output', 'web');

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

export interface EditorSession {
  server: TestServer;
  browser: Browser;
  page: Page;
  /** Uncaught errors of the page, for a test to assert there were none. */
  pageErrors: string[];
}

/**
 * One test server and one editor page for a test file: started before its tests, closed after them (nothing
 * when chromium is missing: the tests skip). Its fields are set once `before` has run.
 */
export function editorSession(start: () => Promise<TestServer> = () => startServer()): EditorSession {
  const session = { pageErrors: [] as string[] } as EditorSession;
  before(async () => {
    if (noChromium) return;
    mkdirSync(SHOTS, { recursive: true });
    session.server = await start();
    Object.assign(session, await openEditor(session.server.base, (m) => session.pageErrors.push(m)));
  });
  after(async () => {
    if (noChromium) return;
    await session.browser?.close();
    await session.server?.close();
  });
  return session;
}
