import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from './helpers/cli-process';
import { type CliWorld, freePort, startCliWorld } from './helpers/cli-world';

describe('tokenvault emulator', () => {
  let world: CliWorld;
  beforeAll(async () => {
    world = await startCliWorld();
  });
  afterAll(() => world.close());

  it('serves the emulator until SIGTERM, printing its URLs as one JSON line', async () => {
    const cli = startCli(['emulator', '--port', '0', '--json', '--control'], { cwd: world.dir() });
    const urls = JSON.parse(await cli.stdoutLine(/^\{/)) as { baseUrl: string; dashboardUrl: string; tokenEndpoint: string; controlUrl: string; control: boolean };
    expect(urls.control).toBe(true);
    expect(urls.tokenEndpoint).toBe(`${urls.baseUrl}/2/token`);
    const dashboard = await fetch(urls.dashboardUrl);
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain('Add new services');
    expect((await fetch(`${urls.controlUrl}/clock`)).status).toBe(200);
    cli.child.kill('SIGTERM');
    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('mixi emulator stopped\n');
    await expect(fetch(urls.dashboardUrl)).rejects.toThrow();
  });

  it('prints a readable listing; a taken port or a public control API is one line', async () => {
    const dir = world.dir();
    const port = await freePort();
    const blocker = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    try {
      const listing = startCli(['emulator', '--port', '0'], { cwd: dir });
      const [taken, publicControl, first] = await Promise.all([
        runCli(['emulator', '--port', String(port)], { cwd: dir }),
        runCli(['emulator', '--host', '0.0.0.0', '--control'], { cwd: dir }),
        listing.stdoutLine(/tokenvault clients add mixi/),
      ]);
      expect(first).toMatch(/--endpoints-from http:\/\/127\.0\.0\.1:\d+$/);
      listing.child.kill('SIGINT');
      const listed = await listing.done;
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/^mixi emulator listening on http:\/\/127\.0\.0\.1:\d+ \(stop with Ctrl-C\)\n {2}dashboard: /);
      expect(taken.code).toBe(1);
      expect(taken.stderr).toMatch(new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*\\n$`));
      expect(publicControl.code).toBe(2);
      expect(publicControl.stderr).toMatch(/^error: the control API may only be enabled on a loopback address/);
    } finally {
      blocker.close();
    }
  });
});
