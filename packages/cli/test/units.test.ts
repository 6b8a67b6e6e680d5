import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ClientRejectedError, ProviderUnavailableError, ReauthRequiredError, UnknownGrantError } from '@tokenvault/core';
import { describe, expect, it } from 'vitest';
import { CliError, reportFailure, oneLine } from '../src/cli-errors';
import type { CliIo } from '../src/cli-io';
import { loadConfig, redactConnectionString } from '../src/config';
import { formatDuration, formatRelative, parseDuration } from '../src/duration';
import { loopbackTarget } from '../src/loopback-redirect';
import { renderTable } from '../src/text-table';

function fakeIo(cwd: string, env: Record<string, string> = {}): CliIo {
  return { stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough(), env, cwd };
}

describe('durations', () => {
  it('parses units and compounds, and refuses what is not a duration', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('0')).toBe(0);
    for (const bad of ['', '2', 'm', '2x', '2 m', '-1s', '2m3', '1e3s']) expect(parseDuration(bad)).toBeUndefined();
  });

  it('formats durations and moments for people', () => {
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(14 * 60_000 + 10_000)).toBe('14 min');
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000)).toBe('2 h 5 min');
    expect(formatRelative(1_000 + 840_000, 1_000)).toBe('in 14 min');
    expect(formatRelative(1_000, 1_000 + 180_000)).toBe('3 min ago');
  });
});

describe('text tables', () => {
  it('aligns columns and cuts long cells with an ellipsis', () => {
    const table = renderTable(['A', 'LONG'], [['x', 'abcdefghij'], ['yyy', 'k']], { maxWidth: { LONG: 5 } });
    expect(table.split('\n')).toEqual(['A    LONG', 'x    abcd…', 'yyy  k']);
  });
});

describe('configuration precedence', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenvault-config-'));
  writeFileSync(join(dir, 'tokenvault.config.json'), JSON.stringify({ db: 'from-file.db', client: 'file-client' }));

  it('uses the config file over the defaults, relative to the file', async () => {
    const config = await loadConfig({}, fakeIo(dir));
    expect(config.store).toMatchObject({ kind: 'sqlite', filename: join(dir, 'from-file.db'), origin: 'config file' });
    expect(config.client).toBe('file-client');
  });

  it('uses the environment over the config file, and flags over both', async () => {
    const env = { TOKENVAULT_DB: 'from-env.db', TOKENVAULT_CLIENT: 'env-client' };
    expect((await loadConfig({}, fakeIo(dir, env))).store).toMatchObject({ filename: join(dir, 'from-env.db'), origin: 'environment' });
    expect((await loadConfig({}, fakeIo(dir, env))).client).toBe('env-client');
    const flagged = await loadConfig({ postgres: 'postgres://app:hunter2@db/vault', client: 'flag-client' }, fakeIo(dir, env));
    expect(flagged.store).toMatchObject({ kind: 'postgres', origin: 'flag', display: 'postgres://app:***@db/vault' });
    expect(flagged.client).toBe('flag-client');
  });

  it('defaults to ./tokenvault.db without a config file', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tokenvault-config-'));
    expect((await loadConfig({}, fakeIo(empty))).store).toMatchObject({ filename: join(empty, 'tokenvault.db'), display: './tokenvault.db', origin: 'default' });
  });

  it('refuses a named config file that is missing, unknown keys, and two stores at one level', async () => {
    await expect(loadConfig({ config: 'nope.json' }, fakeIo(dir))).rejects.toThrow(/does not exist/);
    const bad = mkdtempSync(join(tmpdir(), 'tokenvault-config-'));
    writeFileSync(join(bad, 'c.json'), '{"database": "x.db"}');
    await expect(loadConfig({ config: 'c.json' }, fakeIo(bad))).rejects.toThrow(/unknown key "database"/);
    await expect(loadConfig({}, fakeIo(bad, { TOKENVAULT_DB: 'a.db', TOKENVAULT_POSTGRES_URL: 'postgres://x/y' }))).rejects.toThrow(/both set/);
  });

  it('redacts passwords in PostgreSQL connection strings', () => {
    expect(redactConnectionString('postgres://u:secret@h:5432/d')).toBe('postgres://u:***@h:5432/d');
    expect(redactConnectionString('host=h password=secret user=u')).toBe('host=h password=*** user=u');
  });
});

describe('loopback redirect URLs', () => {
  it('serves 127.0.0.1, [::1] and localhost on their port and path, nothing else', () => {
    expect(loopbackTarget('http://127.0.0.1:8765/callback')).toMatchObject({ addresses: ['127.0.0.1'], port: 8765, path: '/callback' });
    expect(loopbackTarget('http://localhost:9000/cb')).toMatchObject({ addresses: ['127.0.0.1', '::1'], port: 9000 });
    expect(loopbackTarget('http://[::1]:9000/cb')).toMatchObject({ addresses: ['::1'] });
    expect(loopbackTarget('https://mixi.jp/connect_authorize_success.html')).toBeUndefined();
    expect(loopbackTarget('https://127.0.0.1:8765/callback')).toBeUndefined();
    expect(loopbackTarget('http://app.example/callback')).toBeUndefined();
  });
});

describe('failure reports', () => {
  it('explains tokenvault errors by code, in one line, with the command that fixes them', async () => {
    expect(await reportFailure(new UnknownGrantError('bob'))).toEqual({ line: 'grant "bob" does not exist', exitCode: 1 });
    expect((await reportFailure(new ReauthRequiredError('alice', 'refresh_token_rejected'))).line).toBe(
      'grant "alice" must be authorized again (refresh_token_rejected); run "tokenvault authorize --grant alice"',
    );
    expect((await reportFailure(new ClientRejectedError('mixi'))).line).toMatch(/clients rotate-secret mixi/);
    const cause = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect((await reportFailure(new ProviderUnavailableError('POST http://127.0.0.1:9/2/token failed: network error', {}, { cause }))).line).toBe(
      'the provider could not be reached: POST http://127.0.0.1:9/2/token failed: network error (ECONNREFUSED)',
    );
    expect(await reportFailure(new CliError('bad\nthing', { exitCode: 2 }))).toEqual({ line: 'bad thing', exitCode: 2 });
    expect((await reportFailure(new Error('boom'))).line).toMatch(/^unexpected failure: boom \(run with --debug/);
  });

  it('keeps control characters out of the line', () => {
    expect(oneLine('grant "\u001b[31mx" does not exist')).toBe('grant "?[31mx" does not exist');
  });
});
