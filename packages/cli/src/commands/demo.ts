import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Clock, formatEncryptionKey, generateEncryptionKey, isTokenVaultError, Secret, systemClock, type Vault } from '@tokenvault/core';
import { consentAs, createMixiEmulator, type MixiEmulator, mixiEndpoints } from '@tokenvault/mixi-emulator';
import { CliError, EXIT_FAILURE, EXIT_OK } from '../cli-errors';
import { registerClient, replaceClientSecret } from '../client-registry';
import type { CommandContext } from '../command-context';
import { displayPath, type StoreLocation } from '../config';
import { DashboardApi } from '../demo/dashboard-api';
import { formatDuration, formatSeconds } from '../duration';
import { renderGrantTable } from '../grant-table';
import { renderTable } from '../text-table';
import { Workspace } from '../workspace';

/** Where the demo keeps its grants, relative to the working directory; recreated on every run. */
export const DEMO_DB_FILE = '.tokenvault/demo.db';
/** The key the demo generates for its run (mode 0600), so `tokenvault status` can read the grants afterwards. */
export const DEMO_KEYS_FILE = '.tokenvault/demo.keys';

const CLIENT = 'mixi';
const USERS = ['alice', 'bob'] as const;
const SCOPE = ['r_profile', 'r_voice', 'w_voice'];
/** The seed's desktop redirect URL: the emulator redirects to its own copy of the page. */
const REDIRECT_URL = 'https://mixi.jp/connect_authorize_success.html';
const INQUIRY_EMAIL = 'demo@tokenvault.example';
const CONCURRENT_CALLS = 40;
/** Past the 15-minute access token lifetime (the vault reads `expires_in`; this only moves time). */
const LATER_MS = 16 * 60_000;

/** One claim the demo makes, checked against what happened. */
interface Check {
  readonly claim: string;
  readonly expected: string;
  readonly observed: string;
}

/**
 * `tokenvault demo`: the whole lifecycle, offline, in a few seconds. Starts the mixi emulator on
 * loopback; registers a service through the dashboard's JSON API (confirmation mail included) and
 * keeps it in the client registry; authorizes two users on the real consent page over HTTP; calls
 * People and Voice through `vault.fetch`; moves the emulator's clock (which the vault shares) past
 * expiry and shows many concurrent calls causing one refresh; re-issues the ConsumerSecret and shows
 * the client rejected, then recovered; expires a refresh token and shows `reauthRequired`. Prints every
 * transition as it happens, then a summary. Exits 1 if anything did not happen as claimed.
 */
export async function runDemo(ctx: CommandContext): Promise<number> {
  const started = performance.now();
  const filename = resolve(ctx.io.cwd, DEMO_DB_FILE);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${filename}${suffix}`, { force: true });
  const location: StoreLocation = { kind: 'sqlite', filename, display: displayPath(filename, ctx.io.cwd), origin: 'default' };
  // The demo encrypts like any vault, with a key of its own, kept beside its database for later looks.
  const keysFile = resolve(ctx.io.cwd, DEMO_KEYS_FILE);
  mkdirSync(dirname(keysFile), { recursive: true, mode: 0o700 });
  rmSync(keysFile, { force: true });
  const keys = formatEncryptionKey(generateEncryptionKey({ id: 'demo' }));
  writeFileSync(keysFile, `${keys}\n`, { mode: 0o600, flag: 'wx' });
  const keysDisplay = displayPath(keysFile, ctx.io.cwd);

  const emulator = createMixiEmulator({ autoCreateUsers: true });
  const running = await emulator.listen({ port: 0, host: '127.0.0.1' });
  let workspace: Workspace | undefined;
  try {
    workspace = await Workspace.open(
      location,
      { kind: 'keys', keys, source: keysDisplay },
      { create: true, ...(ctx.logger !== undefined && { logger: ctx.logger }) },
    );
    return await new DemoRun(ctx, emulator, running.url, workspace, started, keysDisplay).run();
  } finally {
    await workspace?.close();
    await running.close();
  }
}

/** The demo's steps and what they observed. Lives for one run. */
class DemoRun {
  readonly #ctx: CommandContext;
  readonly #emulator: MixiEmulator;
  readonly #baseUrl: string;
  readonly #workspace: Workspace;
  readonly #dashboard: DashboardApi;
  readonly #started: number;
  readonly #clockStart: number;
  readonly #checks: Check[] = [];
  /** The emulator's grant id behind each of our grants (to read its refresh counter). */
  readonly #emulatorGrant = new Map<string, string>();
  readonly #keysFile: string;
  #serviceId = '';

  constructor(ctx: CommandContext, emulator: MixiEmulator, baseUrl: string, workspace: Workspace, started: number, keysFile: string) {
    this.#ctx = ctx;
    this.#emulator = emulator;
    this.#baseUrl = baseUrl;
    this.#workspace = workspace;
    this.#dashboard = new DashboardApi(baseUrl);
    this.#started = started;
    this.#clockStart = emulator.clock.now();
    this.#keysFile = keysFile;
  }

  async run(): Promise<number> {
    const out = this.#ctx.out;
    out('tokenvault demo: the grant lifecycle against an in-process mixi emulator (loopback only, no network)');
    out(`  mixi emulator:  ${this.#baseUrl} (dashboard ${this.#baseUrl}/dashboard)`);
    out(`  grants kept in: SQLite file ${this.#workspace.location.display} (recreated on every run)`);
    out(`  encryption:     tokens and secrets encrypted (AES-256-GCM) under a key generated for this run, saved in ${this.#keysFile} (mode 600)`);

    await this.#registerService();
    const vault = await this.#workspace.vault({ clock: this.#sharedClock() });
    this.#watch(vault);
    await this.#authorizeUsers(vault);
    await this.#callApis(vault);
    await this.#concurrentCallsAfterExpiry(vault);
    await this.#secretReissued(vault);
    await this.#refreshTokenExpired(vault);
    return this.#summary(vault);
  }

  /** The vault reads the emulator's virtual clock, so "16 minutes later" is one call for both sides. */
  #sharedClock(): Clock {
    return { now: () => this.#emulator.clock.now(), sleep: systemClock.sleep };
  }

  #step(title: string): void {
    this.#ctx.signal.throwIfAborted();
    this.#ctx.out('');
    this.#ctx.out(`▸ ${title}`);
  }

  #note(text: string): void {
    this.#ctx.out(`    ${text}`);
  }

  /** `t+16:00`: time on the shared (virtual) clock since the demo began. */
  #clockMark(at: number): string {
    const seconds = Math.max(0, Math.round((at - this.#clockStart) / 1_000));
    return `t+${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
  }

  /** Prints every persisted transition, and the client and grant alarms, as they happen. */
  #watch(vault: Vault): void {
    vault.on('transition', (e) => {
      this.#note(`  ${this.#clockMark(e.at)}  ${e.grantId.padEnd(5)}  ${(e.from ?? '(new)').padEnd(14)} → ${e.to.padEnd(14)} ${e.event}`);
    });
    vault.on('clientRejected', (e) => this.#note(`  ${this.#clockMark(e.at)}  event clientRejected: client "${e.client}" (its refreshes stop until the secret is replaced)`));
    vault.on('reauthRequired', (e) => this.#note(`  ${this.#clockMark(e.at)}  event reauthRequired: ${e.grantId} (${e.reason})`));
  }

  async #registerService(): Promise<void> {
    this.#step('Register a service on the Partner Dashboard (JSON API over HTTP, confirmation by mail)');
    const registered = await this.#dashboard.registerService({
      name: 'tokenvault demo',
      description: 'Shows the tokenvault grant lifecycle: reads the profile, reads and posts Voice statuses.',
      url: 'https://tokenvault.example/',
      redirectUrl: REDIRECT_URL,
      inquiryEmail: INQUIRY_EMAIL,
    });
    this.#serviceId = registered.serviceId;
    this.#note(`POST /dashboard/api/services → ${registered.serviceId}, ${registered.status} (「※未確認」): credentials ${registered.credentials ? 'shown' : 'withheld'}`);
    const mail = (await this.#dashboard.outbox(INQUIRY_EMAIL)).find((m) => m.serviceId === registered.serviceId);
    if (!mail) throw new CliError('the dashboard sent no confirmation mail');
    this.#note(`outbox: mail to ${mail.to}: "${mail.subject}"`);
    await this.#dashboard.follow(mail.confirmUrl);
    const confirmed = await this.#dashboard.service(registered.serviceId);
    this.#checks.push({ claim: 'service confirmed through the mailed link', expected: 'confirmed', observed: confirmed.status });
    if (!confirmed.credentials) throw new CliError('the confirmed service shows no credentials');
    await registerClient(
      this.#workspace.store,
      {
        id: CLIENT,
        provider: 'mixi',
        providerOptions: { ...mixiEndpoints(this.#baseUrl) },
        clientId: confirmed.credentials.clientId,
        clientSecret: new Secret(confirmed.credentials.clientSecret),
        redirectUri: REDIRECT_URL,
      },
      Date.now(),
    );
    this.#note(`followed the link → ${confirmed.status}; consumer key ${confirmed.credentials.clientId}; client "${CLIENT}" stored in the vault's client registry (secret never printed)`);
  }

  async #authorizeUsers(vault: Vault): Promise<void> {
    this.#step(`Authorize ${USERS.join(' and ')} on the consent page (login, Allow, redirect to ${REDIRECT_URL})`);
    for (const user of USERS) {
      const { url } = await vault.beginAuthorization({ grantId: user, client: CLIENT, scope: SCOPE, display: 'pc' });
      const callback = await consentAs(url, { username: user, decision: 'allow' });
      const grant = await vault.completeAuthorization(callback);
      this.#note(`${user}: logged in, allowed ${grant.scope.join(' ')}; redirected to ${new URL(callback).pathname} and the code exchanged`);
      const found = this.#emulator.findGrant({ accessToken: await vault.getAccessToken(user) });
      if (found) this.#emulatorGrant.set(user, found.grantId);
    }
    const authorized = await this.#workspace.store.count({ state: 'authorized' });
    this.#checks.push({ claim: 'users authorized through the real consent page', expected: String(USERS.length), observed: String(authorized) });
  }

  async #callApis(vault: Vault): Promise<void> {
    this.#step('Call People and Voice through vault.fetch (the token attached by the vault)');
    const statuses: number[] = [];
    for (const user of USERS) {
      const res = await vault.fetch(user, 'people/@me/@self');
      const me = (await res.json()) as { entry?: { displayName?: string } };
      statuses.push(res.status);
      this.#note(`${user}: GET people/@me/@self → ${res.status}, displayName "${me.entry?.displayName ?? '?'}"`);
    }
    const posted = await vault.fetch('alice', 'voice/statuses', { method: 'POST', body: new URLSearchParams({ status: 'Hello from the tokenvault demo' }) });
    await posted.arrayBuffer();
    statuses.push(posted.status);
    this.#note(`alice: POST voice/statuses → ${posted.status}`);
    const timeline = await vault.fetch('alice', 'voice/statuses/@me/user_timeline');
    const entries = (await timeline.json()) as unknown[];
    statuses.push(timeline.status);
    this.#note(`alice: GET voice/statuses/@me/user_timeline → ${timeline.status}, ${Array.isArray(entries) ? entries.length : 0} status`);
    this.#checks.push({ claim: 'People and Voice calls answered', expected: 'all 200', observed: statuses.every((s) => s === 200) ? 'all 200' : statuses.join(', ') });
  }

  async #concurrentCallsAfterExpiry(vault: Vault): Promise<void> {
    this.#step(`16 minutes later: ${CONCURRENT_CALLS} concurrent calls with an expired token`);
    this.#emulator.clock.advance(LATER_MS);
    this.#note(`emulator clock advanced 16 min (access tokens live 15 min); transitions as they happen:`);
    const refreshesBefore = this.#refreshesOf('alice');
    const responses = await Promise.all(Array.from({ length: CONCURRENT_CALLS }, () => vault.fetch('alice', 'people/@me/@self')));
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    const ok = responses.filter((r) => r.status === 200).length;
    const refreshes = this.#refreshesOf('alice') - refreshesBefore;
    this.#note(`${CONCURRENT_CALLS} × GET people/@me/@self → ${ok} × 200; refreshes of alice's grant at the emulator: ${refreshes}`);
    this.#checks.push({ claim: `${CONCURRENT_CALLS} concurrent calls after expiry: refreshes`, expected: '1', observed: String(refreshes) });
    this.#checks.push({ claim: `${CONCURRENT_CALLS} concurrent calls after expiry: answers`, expected: `${CONCURRENT_CALLS} × 200`, observed: `${ok} × 200` });
  }

  async #secretReissued(vault: Vault): Promise<void> {
    this.#step('The ConsumerSecret is re-issued on the dashboard');
    const reissued = await this.#dashboard.reissueSecret(this.#serviceId);
    if (!reissued.credentials) throw new CliError('the re-issued service shows no credentials');
    const newSecret = new Secret(reissued.credentials.clientSecret);
    this.#note(`POST /dashboard/api/services/${this.#serviceId}/secret → a new secret (fingerprint ${newSecret.fingerprint()}); the old one stops working`);
    this.#emulator.clock.advance(LATER_MS);
    this.#note('16 more minutes: bob\'s token has expired and the vault still holds the old secret');
    let rejection = 'none';
    try {
      const res = await vault.fetch('bob', 'people/@me/@self');
      await res.arrayBuffer();
      rejection = `HTTP ${res.status}`;
    } catch (error) {
      if (!isTokenVaultError(error)) throw error;
      rejection = error.code;
      this.#note(`bob: GET people/@me/@self → ${error.name} (${error.code})`);
    }
    this.#checks.push({ claim: 'refresh with the old secret after re-issue', expected: 'client_rejected', observed: rejection });
    const kept = await vault.inspect('bob');
    this.#note(`bob keeps his tokens meanwhile: ${kept?.state}, refresh token ${kept?.hasRefreshToken ? 'kept' : 'lost'}`);
    this.#checks.push({ claim: 'grant kept while its client is rejected', expected: 'authorized', observed: kept?.state ?? 'missing' });

    await replaceClientSecret(this.#workspace.store, CLIENT, newSecret, Date.now());
    vault.updateClientSecret(CLIENT, newSecret);
    this.#note('new secret stored in the client registry (as "tokenvault clients rotate-secret" does) and handed to vault.updateClientSecret');
    const res = await vault.fetch('bob', 'people/@me/@self');
    await res.arrayBuffer();
    this.#note(`bob: GET people/@me/@self → ${res.status}`);
    this.#checks.push({ claim: 'recovered with the new secret', expected: '200', observed: String(res.status) });
  }

  async #refreshTokenExpired(vault: Vault): Promise<void> {
    this.#step("alice's refresh token expires at mixi (the user's choice on the consent screen)");
    const emulatorGrant = this.#emulatorGrant.get('alice');
    if (emulatorGrant === undefined) throw new CliError("alice's grant is unknown to the emulator");
    this.#emulator.expireRefreshToken(emulatorGrant);
    let outcome = 'none';
    try {
      const res = await vault.fetch('alice', 'people/@me/@self');
      await res.arrayBuffer();
      outcome = `HTTP ${res.status}`;
    } catch (error) {
      if (!isTokenVaultError(error)) throw error;
      outcome = error.code;
      this.#note(`alice: GET people/@me/@self → ${error.name}: ${error.message}`);
    }
    const alice = await vault.inspect('alice');
    this.#checks.push({ claim: 'expired refresh token', expected: 'reauthRequired (refresh_token_rejected)', observed: `${alice?.state} (${alice?.reauthReason ?? outcome})` });
  }

  #refreshesOf(user: string): number {
    const id = this.#emulatorGrant.get(user);
    return id === undefined ? 0 : this.#emulator.counters.refreshesOf(id);
  }

  async #summary(vault: Vault): Promise<number> {
    const out = this.#ctx.out;
    this.#step('Summary');
    const grants = (await vault.list({}, { limit: 100 })).items;
    out(indent(renderGrantTable(grants, this.#emulator.clock.now())));
    out('');
    const failed = this.#checks.filter((c) => c.expected !== c.observed);
    out(indent(renderTable(['CHECK', 'EXPECTED', 'OBSERVED', ''], this.#checks.map((c) => [c.claim, c.expected, c.observed, c.expected === c.observed ? 'ok' : 'FAILED']))));
    const counters = this.#emulator.counters.snapshot({ perGrant: false });
    out('');
    this.#note(
      `emulator counters: token requests ${counters.tokenRequests.total} (authorization_code ${counters.tokenRequests.authorization_code}, ` +
        `refresh_token ${counters.tokenRequests.refresh_token}, server_state ${counters.tokenRequests.server_state}), ` +
        `refreshes ${counters.refreshes.total}, API calls ${counters.apiCalls.total}, consents allowed ${counters.authorizations.allowed}`,
    );
    this.#note(
      `grants and client kept in ${this.#workspace.location.display}, encrypted; look again with: ` +
        `tokenvault status --db ${this.#workspace.location.display} --keys-file ${this.#keysFile}`,
    );
    this.#note(
      `finished in ${formatSeconds(performance.now() - this.#started)} (meanwhile the mixi clock moved ${formatDuration(this.#emulator.clock.now() - this.#clockStart)})` +
        (failed.length === 0 ? '; every check passed' : `; ${failed.length} check${failed.length === 1 ? '' : 's'} FAILED`),
    );
    return failed.length === 0 ? EXIT_OK : EXIT_FAILURE;
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
