import { createServer } from 'node:net';
import { join } from 'node:path';
import { sqliteStore } from '@tokenvault/kysely';
import { consentAs } from '@tokenvault/mixi-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENCRYPTION } from './helpers/test-keys';
import { runCli, startCli } from './helpers/cli-process';
import { type CliWorld, freePort, leakedSecrets, startCliWorld } from './helpers/cli-world';

const AUTHORIZATION_URL = /^http:\/\/127\.0\.0\.1:\d+\/connect_authorize\.pl\?/;

describe('tokenvault authorize: loopback redirect, pasted redirect, and the ways it fails', () => {
  let world: CliWorld;
  beforeAll(async () => {
    world = await startCliWorld();
  });
  afterAll(() => world.close());

  /** A directory whose vault has one client, registered with `redirectUrl`. */
  async function vaultWith(redirectUrl?: string, endpointsBase?: string): Promise<string> {
    const dir = world.dir();
    await world.addClient(join(dir, 'tokenvault.db'), world.service(redirectUrl), endpointsBase === undefined ? {} : { endpointsBase });
    return dir;
  }

  /** What the vault file says, read in this process (the e2e test asks `tokenvault status` instead). */
  async function grantState(dir: string, grantId: string): Promise<string> {
    const store = sqliteStore({ filename: join(dir, 'tokenvault.db'), encryption: TEST_ENCRYPTION });
    try {
      return (await store.get(grantId))?.state ?? 'missing';
    } finally {
      await store.close();
    }
  }

  it('listens on the loopback redirect URL: a forged redirect is refused, the real one authorizes the grant', async () => {
    const port = await freePort();
    const dir = await vaultWith(`http://127.0.0.1:${port}/callback`);
    const cli = startCli(['authorize', '--grant', 'alice', '--scope', 'r_profile r_voice'], { cwd: dir });
    const url = await cli.stdoutLine(AUTHORIZATION_URL);
    await cli.stderrMatch(/Waiting for the redirect to http:\/\/127\.0\.0\.1:\d+\/callback/);
    expect(new URL(url).searchParams.get('scope')).toBe('r_profile r_voice');

    const callback = await consentAs(url, { username: 'alice' }); // the browser's redirect, not yet followed
    const forged = await fetch(`http://127.0.0.1:${port}/callback?code=forged&state=forged`);
    expect(forged.status).toBe(400);
    const page = await fetch(callback);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('tokenvault stored grant &quot;alice&quot;');

    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[1]).toBe('authorized grant "alice" (client mixi; scope r_profile r_voice; access token expires in 15 min)');
    const code = new URL(callback).searchParams.get('code') as string;
    expect(leakedSecrets(result.stdout + result.stderr, [code, ...world.secrets()])).toEqual([]);
    expect(await grantState(dir, 'alice')).toBe('authorized');
  });

  it('a denial on the consent page exits 1 and leaves the grant unauthorized', async () => {
    const port = await freePort();
    const dir = await vaultWith(`http://localhost:${port}/cb`);
    const cli = startCli(['authorize', '--grant', 'bob'], { cwd: dir });
    const url = await cli.stdoutLine(AUTHORIZATION_URL);
    await cli.stderrMatch(/Waiting for the redirect/);
    const page = await fetch(await consentAs(url, { username: 'bob', decision: 'deny' }));
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('the user denied the authorization');
    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual(['error: the user denied the authorization of grant "bob"']);
    expect(await grantState(dir, 'bob')).toBe('unauthorized');
  });

  it('reads the pasted redirect URL (mixi\'s desktop page), or the bare code it shows', async () => {
    const dir = await vaultWith(); // https://mixi.jp/connect_authorize_success.html
    const first = startCli(['authorize', '--grant', 'carol'], { cwd: dir });
    const callback = await consentAs(await first.stdoutLine(AUTHORIZATION_URL), { username: 'carol' });
    expect(new URL(callback).pathname).toBe('/connect_authorize_success.html');
    await first.stderrMatch(/Paste that page's address/);
    first.child.stdin.end(`${callback}\n`);
    const pasted = await first.done;
    expect(pasted.code, pasted.stderr).toBe(0);
    expect(pasted.stdout).toContain('authorized grant "carol" (client mixi; scope r_profile;');

    const second = startCli(['authorize', '--grant', 'dave', '--paste'], { cwd: dir });
    const desktopPage = await consentAs(await second.stdoutLine(AUTHORIZATION_URL), { username: 'dave' });
    second.child.stdin.end(`\n  ${new URL(desktopPage).searchParams.get('code')}  \n`);
    const bare = await second.done;
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stdout).toContain('authorized grant "dave"');
  });

  it('stops on SIGINT while waiting for the redirect: exit 130, nothing left listening', async () => {
    const port = await freePort();
    const dir = await vaultWith(`http://127.0.0.1:${port}/callback`);
    const cli = startCli(['authorize', '--grant', 'ida'], { cwd: dir });
    await cli.stderrMatch(/Waiting for the redirect/);
    cli.child.kill('SIGINT');
    const result = await cli.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/\nerror: interrupted\n$/);
    await expect(fetch(`http://127.0.0.1:${port}/callback`)).rejects.toThrow();
  });

  it('refuses a pasted URL of another authorization, and stdin that ends without one', async () => {
    const dir = await vaultWith();
    const [foreign, ended] = await Promise.all([
      runCli(['authorize', '--grant', 'erin'], { cwd: dir, input: 'https://mixi.jp/connect_authorize_success.html?code=abc&state=not-this-one\n' }),
      runCli(['authorize', '--grant', 'frank'], { cwd: dir, input: '' }),
    ]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/\nerror: the pasted address belongs to another authorization \(its state differs\)\n$/);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toMatch(/\nerror: stdin ended before a redirected address was pasted\n$/);
  });

  it('fails with one line when the emulator is down, the port is taken, or the client is unknown', async () => {
    const down = await vaultWith(undefined, `http://127.0.0.1:${await freePort()}`);
    const port = await freePort();
    const busy = await vaultWith(`http://127.0.0.1:${port}/callback`);
    const blocker = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    try {
      const [unreachable, taken, unknown] = await Promise.all([
        runCli(['authorize', '--grant', 'gina'], { cwd: down }),
        runCli(['authorize', '--grant', 'hank'], { cwd: busy }),
        runCli(['authorize', '--grant', 'ivy', '--client', 'nope'], { cwd: busy }),
      ]);
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toMatch(/^error: the provider could not be reached: POST http:\/\/127\.0\.0\.1:\d+\/2\/token failed: network error \(ECONNREFUSED\)\n$/);
      expect(unreachable.stdout).toBe('');
      expect(taken.code).toBe(1);
      expect(taken.stderr).toBe(`error: cannot listen for the redirect to http://127.0.0.1:${port}/callback on 127.0.0.1:${port} (the port is in use); free the port, or pass --paste\n`);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toBe('error: client "nope" is not registered (see "tokenvault clients list")\n');
    } finally {
      blocker.close();
    }
  });
});
