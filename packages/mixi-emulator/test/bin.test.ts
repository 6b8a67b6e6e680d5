import { describe, expect, it } from 'vitest';
import { main } from '../src/bin';
import type { RunningEmulator } from '../src/index';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l), handleSignals: false } };
}

describe('standalone start command', () => {
  it('starts on a free loopback port and prints every URL', async () => {
    const { out, io } = capture();
    const running = (await main(['--port', '0', '--control'], io)) as RunningEmulator;
    try {
      expect(typeof running).toBe('object');
      const text = out.join('\n');
      expect(text).toContain(`listening on ${running.url}`);
      for (const path of ['/dashboard', '/connect_authorize.pl', '/m/connect_authorize.pl', '/2/token', '/2/', '/_emulator']) {
        expect(text).toContain(`${running.url}${path}`);
      }
      expect((await fetch(`${running.url}/dashboard`)).status).toBe(200);
      expect((await fetch(`${running.url}/_emulator/clock`)).status).toBe(200);
    } finally {
      await running.close();
    }
  });

  it('prints one JSON line with --json, and the control API stays off without --control', async () => {
    const { out, io } = capture();
    const running = (await main(['--json'], io)) as RunningEmulator;
    try {
      const urls = JSON.parse(out[0]!);
      expect(urls).toMatchObject({ baseUrl: running.url, tokenEndpoint: `${running.url}/2/token`, apiBaseUrl: `${running.url}/2/`, control: false });
      expect((await fetch(`${running.url}/_emulator/clock`)).status).toBe(404);
    } finally {
      await running.close();
    }
  });

  it.each([
    [['--port', 'eighty']],
    [['--port', '99999']],
    [['--bogus']],
    [['--host', '0.0.0.0', '--control']],
  ])('refuses %j with exit code 2 and a message', async (argv) => {
    const { err, io } = capture();
    expect(await main(argv, io)).toBe(2);
    expect(err.join('\n')).toMatch(/^mixi-emulator: /);
  });

  it('fails with exit code 1 when the port is taken', async () => {
    const first = (await main([], capture().io)) as RunningEmulator;
    try {
      const { err, io } = capture();
      expect(await main(['--port', String(first.port)], io)).toBe(1);
      expect(err.join('\n')).toMatch(/cannot listen/);
    } finally {
      await first.close();
    }
  });

  it('prints usage with --help', async () => {
    const { out, io } = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(out.join('\n')).toMatch(/--control/);
  });
});
