/**
 * End to end in a real browser: Debian's headless Chromium (driven by playwright-core, never a
 * downloaded browser) registers a service on the emulator's dashboard page and confirms it from the
 * outbox; `tokenvault authorize` prints its URL, the browser logs in and clicks Allow, and the loopback
 * redirect completes the grant, which `tokenvault status` shows authorized. A second run clicks Deny.
 * Every page is kept as a screenshot in <repo>/test-artifacts/e2e/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCli, runCli, startCli } from './helpers/cli-process';
import { freePort } from './helpers/cli-world';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/e2e/', import.meta.url));
const hasChromium = existsSync(CHROMIUM);

if (!hasChromium) {
  console.warn(
    [
      '',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      `!!! SKIPPED: the end-to-end browser test needs Debian's Chromium at ${CHROMIUM}.`,
      '!!! Install it with: apt-get install -y chromium   (CI does; never download a browser)',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '',
    ].join('\n'),
  );
}

describe.skipIf(!hasChromium)('end to end in headless Chromium: dashboard, consent page, loopback redirect', () => {
  let dir: string;
  let profile: string;
  let emulator: RunningCli;
  let baseUrl: string;
  let browser: BrowserContext;
  let page: Page;
  let redirectUri: string;

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true, mask: [page.locator('#consumer-secret')] });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'tokenvault-e2e-'));
    profile = mkdtempSync(join(tmpdir(), 'tokenvault-chromium-'));
    emulator = startCli(['emulator', '--port', '0', '--json', '--auto-create-users'], { cwd: dir });
    baseUrl = (JSON.parse(await emulator.stdoutLine(/^\{/)) as { baseUrl: string }).baseUrl;
    redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  });

  afterAll(async () => {
    await browser?.close();
    emulator?.child.kill('SIGTERM');
    await emulator?.done;
    rmSync(profile, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers a service on the dashboard page and confirms it from the outbox; the CLI stores it', async () => {
    await page.goto(`${baseUrl}/dashboard`);
    await page.click('#add-service');
    await page.fill('#name', 'tokenvault e2e');
    await page.setInputFiles('#logo', { name: 'tokenvault.png', mimeType: 'image/png', buffer: Buffer.from('89504e470d0a1a0a', 'hex') });
    await page.fill('#description', 'The tokenvault end-to-end test: reads the profile and the Voice timeline.');
    await page.fill('#url', 'https://tokenvault.example/');
    await page.fill('#redirect_url', redirectUri);
    await page.fill('#inquiry_email', 'e2e@tokenvault.example');
    await shot('01-dashboard-new-service');
    await page.click('#submit-service');
    await expect.poll(() => page.textContent('#summary-logo')).toBe('tokenvault.png');
    await shot('02-dashboard-confirm-registration');
    await page.click('#register');
    await expect.poll(() => page.textContent('#confirmation-address')).toBe('e2e@tokenvault.example');
    await shot('03-dashboard-registration-completed');
    await page.click('#registration-completed a');
    expect(await page.textContent('#unconfirmed')).toBe('※未確認');
    await shot('04-dashboard-unconfirmed');

    await page.goto(`${baseUrl}/dashboard/outbox`);
    await shot('05-dashboard-outbox');
    await page.click('#outbox .confirm-link');
    expect(await page.textContent('#confirmed')).toContain('the address is confirmed');
    await shot('06-dashboard-confirmed');
    await page.click('#confirmed a');
    const consumerKey = (await page.textContent('#consumer-key')) ?? '';
    const consumerSecret = (await page.textContent('#consumer-secret')) ?? '';
    expect(consumerKey).toMatch(/^[0-9a-f]+$/);
    await shot('07-dashboard-credentials');

    const added = await runCli(
      ['clients', 'add', 'mixi', '--client-id', consumerKey, '--redirect-uri', redirectUri, '--endpoints-from', baseUrl, '--secret-stdin'],
      { cwd: dir, input: consumerSecret },
    );
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout + added.stderr).not.toContain(consumerSecret);
  });

  it('authorize: the browser logs in and clicks Allow; the loopback redirect completes the grant', async () => {
    const cli = startCli(['authorize', '--grant', 'alice', '--scope', 'r_profile,r_voice'], { cwd: dir });
    const url = await cli.stdoutLine(/^http:\/\/127\.0\.0\.1:\d+\/connect_authorize\.pl\?/);
    await cli.stderrMatch(/Waiting for the redirect/);
    await page.goto(url);
    await shot('08-login');
    await page.fill('#username', 'alice');
    await page.fill('#password', 'correct horse battery staple');
    await page.click('#login');
    await expect.poll(() => page.textContent('#service-name')).toBe('tokenvault e2e');
    expect(await page.locator('#scope-list li').evaluateAll((items) => items.map((li) => li.getAttribute('data-scope')))).toEqual(['r_profile', 'r_voice']);
    await shot('09-consent');
    await page.click('#allow');
    await expect.poll(() => page.textContent('#title')).toBe('Authorized');
    expect(page.url().startsWith(`${redirectUri}?`)).toBe(true);
    await shot('10-redirect-authorized');

    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('authorized grant "alice" (client mixi; scope r_profile r_voice;');
    const status = await runCli(['status', 'alice', '--json'], { cwd: dir });
    expect((JSON.parse(status.stdout) as { state: string }[])[0]?.state).toBe('authorized');
  });

  it('authorize again, clicking Deny: the grant is not authorized', async () => {
    const cli = startCli(['authorize', '--grant', 'bob'], { cwd: dir });
    const url = await cli.stdoutLine(/^http:\/\/127\.0\.0\.1:\d+\/connect_authorize\.pl\?/);
    await cli.stderrMatch(/Waiting for the redirect/);
    await page.goto(url); // still logged in as alice: straight to the consent page
    await expect.poll(() => page.textContent('#current-user')).toBe('alice');
    await shot('11-consent-again');
    await page.click('#deny');
    await expect.poll(() => page.textContent('#title')).toBe('Not authorized');
    await shot('12-redirect-denied');

    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\nerror: the user denied the authorization of grant "bob"\n$/);
    const status = await runCli(['status', '--json'], { cwd: dir });
    expect((JSON.parse(status.stdout) as { grantId: string; state: string }[]).map((g) => [g.grantId, g.state])).toEqual([
      ['alice', 'authorized'],
      ['bob', 'unauthorized'],
    ]);
  });
});
