import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from './spawn-server.js';

export const CHROMIUM = '/usr/bin/chromium';

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Console lines about the Content Security Policy (or Trusted Types), and uncaught page errors. */
  violations: string[];
  pageErrors: string[];
  /** Saves a full-page screenshot as test-artifacts/<folder>/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Debian's headless Chromium with a fresh profile, driven by playwright-core; fails clearly when it is not installed. */
export async function launchBrowser(artifactsFolder: string): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`needs Debian package chromium (${CHROMIUM} is missing; apt-get install chromium)`);
  const artifacts = path.join(ROOT, 'test-artifacts', artifactsFolder);
  mkdirSync(artifacts, { recursive: true });
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ignoreHTTPSErrors: true,
    viewport: { width: 1100, height: 900 },
  });
  const violations: string[] = [];
  const pageErrors: string[] = [];
  // Reported by the page itself as well as by Chromium's console message, so neither path can hide one.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`securitypolicyviolation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`);
    });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (message) => {
    if (/content security policy|securitypolicyviolation|trusted type/i.test(message.text())) violations.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('dialog', (dialog) => void dialog.accept());
  return {
    context,
    page,
    violations,
    pageErrors,
    async screenshot(name) {
      const file = path.join(artifacts, `${name}.png`);
      rmSync(file, { force: true });
      await page.screenshot({ path: file, fullPage: true });
      if (statSync(file).size === 0) throw new Error(`screenshot ${file} is empty`);
      return file;
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
