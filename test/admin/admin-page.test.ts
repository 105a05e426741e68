import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { basic, bearer, peerCertificate } from '../helpers/https-client.js';
import { createChain, createRoot } from '../helpers/pki.js';
import { runCli } from '../helpers/spawn-server.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/start-server.js';

const DAY = 24 * 60 * 60 * 1000;
const colons = (hex: string) => hex.toUpperCase().match(/.{2}/g)!.join(':');

// Browser tests run one at a time: the two suites are in this one file (vitest runs files in parallel), and the
// steps of each suite build on each other, in order.
describe('the admin page in headless Chromium', () => {
  let server: TestServer;
  let browser: TestBrowser;
  const screenshots: string[] = [];
  let firstFingerprint = '';

  const page = () => browser.page;
  const shot = async (name: string) => screenshots.push(await browser.screenshot(name));
  const pageFingerprint = async () => (await page().locator('#cert-fingerprint').textContent()) ?? '';
  const waitForFingerprint = (hex: string) => page().locator('#cert-fingerprint', { hasText: colons(hex) }).waitFor();
  const handshakeFingerprint = async () => (await peerCertificate(server.port)).fingerprint;
  const logInAgain = async () => {
    const login = page().locator('#login-view');
    await login.getByLabel('User name').fill('admin');
    await login.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await login.getByRole('button', { name: 'Log in' }).click();
    await page().locator('#cert-fingerprint').waitFor();
  };

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser('admin');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('first login: admin/secret, the forced password change, then the served certificate', async () => {
    firstFingerprint = await handshakeFingerprint();
    await page().goto(`https://127.0.0.1:${server.port}/admin`);
    const login = page().locator('#login-view');
    await login.getByLabel('User name').fill('admin');
    await login.getByLabel('Password', { exact: true }).fill('secret');
    await shot('01-login');
    await page().getByRole('button', { name: 'Log in' }).click();

    await page().locator('#change-form').waitFor({ state: 'visible' });
    expect(await page().locator('#login-form').isHidden()).toBe(true);
    await login.getByLabel('New password', { exact: true }).fill(ADMIN_PASSWORD);
    await login.getByLabel('New password again').fill(ADMIN_PASSWORD);
    await shot('02-forced-password-change');
    await page().getByRole('button', { name: 'Change password and log in' }).click();

    await waitForFingerprint(firstFingerprint);
    expect(await page().locator('#cert-status').getAttribute('data-status')).toBe('ok');
    expect(await page().locator('#setup-warning').isHidden()).toBe(true);
    expect(await page().locator('#cert-countdown').textContent()).toMatch(/^expires in \d+ d \d\d:\d\d:\d\d$/);
    expect(await page().locator('#cert-details').textContent()).toContain('localhost');
    await page().locator('#audit-table tbody tr').first().waitFor();
    await shot('03-logged-in');

    // The password really changed: the old one is refused by the API, the new one accepted.
    const old = await server.request('POST', '/v1/users/login', { headers: { Authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` } });
    expect(old.status).toBe(401);
    expect(await server.adminToken()).toMatch(/./);
  });

  it('a rejected upload shows the dry-run report, one entry per problem, and changes nothing', async () => {
    const now = Date.now();
    const expired = { notBefore: new Date(now - 30 * DAY), notAfter: new Date(now - DAY) };
    const chain = await createChain({ leaf: expired, intermediate: expired });
    const report = (await server.upload(chain.bundle, await server.adminToken(), {}, '?dry_run=true')).json.report;
    expect(report.valid).toBe(false);
    expect(report.errors.length).toBeGreaterThanOrEqual(2);

    await page().locator('#upload-file').setInputFiles({ name: 'expired.pem', mimeType: 'text/plain', buffer: Buffer.from(chain.bundle) });
    await page().getByRole('button', { name: 'Check bundle' }).click();
    const items = page().locator('#upload-errors li');
    await items.first().waitFor();
    expect(await items.count()).toBe(report.errors.length);
    for (const [i, error] of (report.errors as { rule: string; message: string }[]).entries()) {
      expect(await items.nth(i).getAttribute('data-rule')).toBe(error.rule);
      expect(await items.nth(i).textContent()).toContain(error.message);
    }
    expect(await page().locator('#upload-commit').isHidden()).toBe(true);
    await page().locator('#upload-report').scrollIntoViewIfNeeded();
    await shot('04-upload-rejected');

    expect(await handshakeFingerprint()).toBe(firstFingerprint);
    const history = await server.request('GET', '/v1/certificates/external/history', { headers: bearer(await server.adminToken()) });
    expect(history.json.certificates).toHaveLength(1);
  });

  it('a good upload: checked, installed, then the page and a fresh TLS handshake show the new fingerprint', async () => {
    const chain = await createChain({ sans: ['localhost', '127.0.0.1', 'admin-page.test'] });
    const expected = (await server.upload(chain.bundle, await server.adminToken(), {}, '?dry_run=true')).json.report.certificate.fingerprint_sha256 as string;

    await page().locator('#upload-file').setInputFiles({ name: 'good.pem', mimeType: 'text/plain', buffer: Buffer.from(chain.bundle) });
    await page().getByRole('button', { name: 'Check bundle' }).click();
    await page().locator('#upload-fingerprint', { hasText: colons(expected) }).waitFor();
    await shot('05-upload-checked');
    expect(await handshakeFingerprint()).toBe(firstFingerprint);

    await page().getByRole('button', { name: 'Install this certificate' }).click();
    await waitForFingerprint(expected);
    await page().locator('#history-table tbody tr').nth(1).waitFor();
    expect(await page().locator('#cert-details').textContent()).toContain('admin-page.test');
    await shot('06-upload-installed');

    const served = await handshakeFingerprint();
    expect(served).toBe(expected);
    expect((await pageFingerprint()).replaceAll(':', '').toLowerCase()).toBe(served);
  });

  it('a rollback: the page and a fresh TLS handshake show the previous fingerprint again', async () => {
    await page().getByRole('button', { name: 'Roll back to version 1' }).click();
    await waitForFingerprint(firstFingerprint);
    await page().locator('#history-table tbody tr').nth(2).waitFor();
    expect(await page().locator('#cert-version').textContent()).toBe('3');
    await shot('07-rolled-back');

    expect(await handshakeFingerprint()).toBe(firstFingerprint);
    expect((await pageFingerprint()).replaceAll(':', '').toLowerCase()).toBe(firstFingerprint);
  });

  it('shows the status /v1/health reports: a certificate that expires in 10 days is "expiring"', async () => {
    const chain = await createChain({ leaf: { notAfter: new Date(Date.now() + 10 * DAY) } });
    expect((await server.upload(chain.bundle, await server.adminToken())).status).toBe(201);
    await page().getByRole('button', { name: 'Refresh' }).first().click();
    await page().locator('#cert-status[data-status="expiring"]').waitFor();
    expect(await page().locator('#cert-status').textContent()).toBe('Expiring soon');
    expect(await page().locator('#cert-countdown').textContent()).toMatch(/^expires in (9|10) d /);
    await shot('08-expiring');
  });

  it('fits a narrow screen', async () => {
    await page().setViewportSize({ width: 360, height: 740 });
    const tooWide = await page().evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((node) => node.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !node.parentElement?.closest('.table-wrap, .pem'))
        .map((node) => `${node.tagName}#${node.id}.${node.className}`),
    );
    expect(tooWide).toEqual([]);
    expect(await page().evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await shot('09-narrow-screen');
    await page().setViewportSize({ width: 1100, height: 900 });
  });

  it('a revoked token sends the page back to the login form with a reason', async () => {
    // Setting the admin's password from another session revokes the page's token (SPEC: other tokens are revoked).
    const token = await server.adminToken();
    const put = await server.request('PUT', '/v1/users/admin', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: JSON.stringify({ password: ADMIN_PASSWORD, current_password: ADMIN_PASSWORD }) });
    expect(put.status).toBe(200);
    await page().getByRole('button', { name: 'Refresh' }).first().click();
    await page().locator('#login-result', { hasText: 'Your session has ended' }).waitFor();
    expect(await page().locator('#app-view').isHidden()).toBe(true);
    expect(await page().locator('#cert-details').textContent()).toBe('');
    await logInAgain();
    await page().locator('#history-table tbody tr').first().waitFor();
    expect(await page().locator('#app-view .result.error').allTextContents()).toEqual([]);
  });

  it('kept the token out of storage and cookies; a reload logs out', async () => {
    const stored = await page().evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie }));
    expect(stored).toEqual({ local: 0, session: 0, cookie: '' });
    await page().reload();
    await page().locator('#login-form').waitFor({ state: 'visible' });
    expect(await page().locator('#app-view').isHidden()).toBe(true);
    await shot('10-after-reload');
  });

  it('ran every step without a CSP violation, and the CSP really blocks inline code', async () => {
    expect(browser.violations).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
    for (const file of screenshots) expect(existsSync(file), file).toBe(true);
    expect(screenshots).toHaveLength(10);

    const response = await server.request('GET', '/admin');
    const csp = String(response.headers['content-security-policy']);
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "form-action 'self'"]) {
      expect(csp).toContain(directive);
    }

    // The detector itself works: an injected inline style is refused and reported.
    const background = await page().evaluate(() => {
      const style = document.createElement('style');
      style.textContent = 'body { background: rgb(255, 0, 0) }';
      document.head.append(style);
      return getComputedStyle(document.body).backgroundColor;
    });
    expect(background).not.toBe('rgb(255, 0, 0)');
    await expect.poll(() => browser.violations.length).toBeGreaterThan(0);
  });
});

const OPERATOR_PASSWORD = 'Operat0r-Passw0rd!';

// Reset, webhook CA, users, audit and the non-admin view; this suite starts after the one above has closed its browser.
describe('the admin page: fallback, reset, webhook CA, users, audit, a non-admin user', () => {
  let server: TestServer;
  let browser: TestBrowser;
  let dataDir: string;

  const page = () => browser.page;
  const logIn = async (username: string, password: string) => {
    const login = page().locator('#login-view');
    await login.getByLabel('User name').fill(username);
    await login.getByLabel('Password', { exact: true }).fill(password);
    await login.getByRole('button', { name: 'Log in' }).click();
    await page().locator('#cert-fingerprint').waitFor();
  };
  const api = async (method: string, p: string) => server.request(method, p, { headers: bearer(await server.adminToken()) });

  beforeAll(async () => {
    // Versions 1 (default), 2 and 3 (uploads); then version 3 is damaged, so the next boot falls back to 2.
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-admin-'));
    const first = await startTestServer({ dataDir });
    const token = await first.adminToken();
    for (let i = 0; i < 2; i += 1) expect((await first.upload((await createChain()).bundle, token)).status).toBe(201);
    await first.close({ keepData: true });
    const db = new Database(path.join(dataDir, 'hotcert.db'));
    db.prepare('update certificate_versions set cert_pem = ? where version = 3').run('garbage');
    db.close();
    server = await startTestServer({ dataDir });
    browser = await launchBrowser('admin');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a fallback at boot is shown with its reason', async () => {
    const served = (await peerCertificate(server.port)).fingerprint;
    await page().goto(`https://127.0.0.1:${server.port}/admin`);
    await logIn('admin', ADMIN_PASSWORD);
    await page().locator('#cert-fingerprint', { hasText: colons(served) }).waitFor();
    expect(await page().locator('#cert-status').getAttribute('data-status')).toBe('fallback');
    expect(await page().locator('#cert-status').textContent()).toBe('Fallback');
    expect(await page().locator('#cert-status-reason').textContent()).toMatch(/version 3/);
    await browser.screenshot('manage-01-fallback');
  });

  it('reset: a new self-signed certificate, on the page and in a fresh handshake', async () => {
    const before = (await peerCertificate(server.port)).fingerprint;
    await page().getByRole('button', { name: 'Reset to a new self-signed certificate' }).click();
    await page().locator('#certificate-result', { hasText: 'A new self-signed certificate is served.' }).waitFor();
    const after = (await peerCertificate(server.port)).fingerprint;
    expect(after).not.toBe(before);
    await page().locator('#cert-fingerprint', { hasText: colons(after) }).waitFor();
    expect(await page().locator('#cert-status').getAttribute('data-status')).toBe('ok');
    await browser.screenshot('manage-02-reset');
  });

  it('webhook CA: a refused bundle shows why; a good one is stored, shown and removed', async () => {
    await page().locator('#webhook-ca-text').fill('not a certificate');
    await page().getByRole('button', { name: 'Replace the webhook CA' }).click();
    await page().locator('#webhook-ca-result.error li').first().waitFor();
    expect((await api('GET', '/v1/certificates/webhooks/ca')).status).toBe(404);

    const root = await createRoot();
    await page().locator('#webhook-ca-text').fill(root.certPem);
    await page().getByRole('button', { name: 'Replace the webhook CA' }).click();
    await page().locator('#webhook-ca-current', { hasText: 'BEGIN CERTIFICATE' }).waitFor();
    const stored = await api('GET', '/v1/certificates/webhooks/ca');
    expect(stored.status).toBe(200);
    expect(stored.text.trim()).toBe(root.certPem.trim());
    await browser.screenshot('manage-03-webhook-ca');

    await page().getByRole('button', { name: 'Remove the webhook CA' }).click();
    await page().locator('#webhook-ca-current', { hasText: '(none' }).waitFor();
    expect((await api('GET', '/v1/certificates/webhooks/ca')).status).toBe(404);
  });

  it('users: create, look up and delete; the audit log lists the changes', async () => {
    const users = page().locator('#users');
    for (const name of ['operator', 'temporary']) {
      await users.getByLabel('User name (4 to 32 characters)').fill(name);
      await users.locator('#create-password').fill(OPERATOR_PASSWORD);
      await users.getByRole('button', { name: 'Create user' }).click();
      await page().locator('#users-result', { hasText: `User ${name} was created.` }).waitFor();
    }
    await page().locator('#lookup-username').fill('operator');
    await users.getByRole('button', { name: 'Look up' }).click();
    await page().locator('#users-result', { hasText: 'operator: user' }).waitFor();

    await page().locator('#lookup-username').fill('temporary');
    await users.getByRole('button', { name: 'Delete user' }).click();
    await page().locator('#users-result', { hasText: 'User temporary was deleted.' }).waitFor();
    expect((await api('GET', '/v1/users/temporary')).status).toBe(404);

    await page().getByRole('button', { name: 'Refresh' }).last().click();
    const actions = page().locator('#audit-table tbody td:nth-child(3)');
    await page().locator('#audit-table td', { hasText: 'user.deleted' }).waitFor();
    const listed = await actions.allTextContents();
    for (const action of ['certificate.reset', 'user.created', 'user.deleted']) expect(listed).toContain(action);
    await browser.screenshot('manage-04-users-audit');
  });

  it('a non-admin user sees the certificate and history, no admin tools, and changes their own password', async () => {
    await page().getByRole('button', { name: 'Log out' }).click();
    await page().locator('#login-form').waitFor({ state: 'visible' });
    expect(await page().locator('#app-view .result:not(:empty)').count()).toBe(0);
    expect(await page().locator('#audit-table tbody tr').count()).toBe(0);
    await logIn('operator', OPERATOR_PASSWORD);
    await page().locator('#history-table tbody tr').first().waitFor();

    for (const id of ['#upload', '#webhook-ca', '#audit', '#reset', '#user-create-form', '#user-lookup-form']) {
      expect(await page().locator(id).isHidden(), id).toBe(true);
    }
    expect(await page().locator('#history-table button').count()).toBe(0);

    // reset-admin-password (CLI, same data directory) puts the admin back on a must-change password: the page warns.
    expect(await page().locator('#setup-warning').isHidden()).toBe(true);
    const reset = runCli(['reset-admin-password', '--data-dir', dataDir]);
    expect(reset.status, reset.stderr).toBe(0);
    await page().getByRole('button', { name: 'Refresh' }).first().click();
    await page().locator('#setup-warning').waitFor({ state: 'visible' });

    const next = 'Operat0r-Changed!';
    await page().locator('#password-username').fill('operator');
    await page().locator('#password-current').fill(OPERATOR_PASSWORD);
    await page().locator('#password-new').fill(next);
    await page().getByRole('button', { name: 'Change password' }).click();
    await page().locator('#users-result', { hasText: 'The password of operator was changed.' }).waitFor();
    await browser.screenshot('manage-05-non-admin');

    const login = await server.request('POST', '/v1/users/login', { headers: { Authorization: basic('operator', next) } });
    expect(login.status).toBe(200);
  });

  it('had no CSP violation and no page error', () => {
    expect(browser.violations).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
  });
});
