import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli-process';
import { type CliWorld, startCliWorld } from './helpers/cli-world';

/** stderr of a failed command: exactly one `error: …` line, no stack trace. */
function oneErrorLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0] as string;
}

describe('tokenvault: help, usage errors, configuration, unreadable stores', () => {
  let world: CliWorld;
  beforeAll(async () => {
    world = await startCliWorld();
  });
  afterAll(() => world.close());

  it('--help lists every command with examples; every command has its own --help with examples', async () => {
    const dir = world.dir();
    const commands = [[], ['demo'], ['authorize'], ['call'], ['status'], ['sweep'], ['clients'], ['clients', 'add'], ['clients', 'list'], ['clients', 'rotate-secret'], ['clients', 'remove'], ['emulator']];
    const results = await Promise.all(commands.map((command) => runCli([...command, '--help'], { cwd: dir })));
    for (const [i, result] of results.entries()) {
      expect(result.code, commands[i]?.join(' ')).toBe(0);
      expect(result.stdout, commands[i]?.join(' ')).toMatch(/\nExamples:\n {2}\$ tokenvault /);
    }
    for (const name of ['demo', 'authorize', 'call', 'status', 'sweep', 'clients', 'emulator']) expect(results[0]?.stdout).toContain(`\n  ${name}`);
    expect(results[0]?.stdout).toMatch(/TOKENVAULT_DB/);
  });

  it('usage errors exit 2 with one line: unknown command, unknown flag, bad value, missing option, excluded pair', async () => {
    const dir = world.dir();
    const cases = [
      { args: ['frobnicate'], line: /unknown command 'frobnicate'/ },
      { args: ['status', '--bogus'], line: /unknown option '--bogus'/ },
      { args: ['sweep', '--within', '5x'], line: /--within .*not a duration/ },
      { args: ['sweep', '--concurrency', '0'], line: /--concurrency .*integer from 1 to 1024/ },
      { args: ['status', '--state', 'happy'], line: /unknown state "happy"/ },
      { args: ['call', 'GET', 'people/@me/@self'], line: /required option '--grant <id>' not specified/ },
      { args: ['call', '--grant', 'alice', 'FETCH', 'people'], line: /must be GET, HEAD, POST, PUT, PATCH or DELETE/ },
      { args: ['status', '--db', 'a.db', '--postgres', 'postgres://x/y'], line: /--db and --postgres cannot be used together/ },
    ];
    const results = await Promise.all(cases.map((c) => runCli(c.args, { cwd: dir })));
    for (const [i, result] of results.entries()) {
      const c = cases[i]!;
      expect(result.code, c.args.join(' ')).toBe(2);
      expect(oneErrorLine(result.stderr), c.args.join(' ')).toMatch(c.line);
      expect(result.stdout).toBe('');
    }
  });

  it('a missing database is reported, not created', async () => {
    const dir = world.dir();
    const result = await runCli(['status'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(oneErrorLine(result.stderr)).toBe(
      'error: no tokenvault database at ./tokenvault.db; register a client first with "tokenvault clients add", or point --db at your database',
    );
  });

  it('a corrupt database file is one clear line (and a stack trace only with --debug)', async () => {
    const dir = world.dir();
    writeFileSync(join(dir, 'tokenvault.db'), randomBytes(8192));
    const [plain, debug] = await Promise.all([runCli(['call', '--grant', 'alice', 'GET', 'people/@me/@self'], { cwd: dir }), runCli(['status', '--debug'], { cwd: dir })]);
    expect(plain.code).toBe(1);
    expect(oneErrorLine(plain.stderr)).toBe('error: ./tokenvault.db is not a tokenvault database (SQLite says: file is not a database)');
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^error: \.\/tokenvault\.db is not a tokenvault database/);
    expect(debug.stderr).toMatch(/\n\s+at /);
    expect(debug.stderr).toMatch(/caused by: StoreError/);
  });

  it('reads the store from flags, then environment, then the config file', async () => {
    const dir = world.dir();
    const service = world.service();
    for (const name of ['file', 'env', 'flag']) await world.addClient(join(dir, `${name}.db`), service, { id: `${name}-client` });
    writeFileSync(join(dir, 'tokenvault.config.json'), JSON.stringify({ db: 'file.db' }));
    const env = { TOKENVAULT_DB: join(dir, 'env.db') };
    const [fromFile, fromEnv, fromFlag] = await Promise.all([
      runCli(['clients', 'list', '--json'], { cwd: dir }),
      runCli(['clients', 'list', '--json'], { cwd: dir, env }),
      runCli(['clients', 'list', '--json', '--db', 'flag.db'], { cwd: dir, env }),
    ]);
    const ids = (stdout: string) => (JSON.parse(stdout) as { id: string }[]).map((c) => c.id);
    expect(ids(fromFile.stdout)).toEqual(['file-client']);
    expect(ids(fromEnv.stdout)).toEqual(['env-client']);
    expect(ids(fromFlag.stdout)).toEqual(['flag-client']);
  });

  it('a broken config file is one clear line', async () => {
    const dir = world.dir();
    writeFileSync(join(dir, 'tokenvault.config.json'), '{ "db": ');
    const result = await runCli(['status'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(oneErrorLine(result.stderr)).toMatch(/^error: config file .*tokenvault\.config\.json is not valid JSON/);
  });
});
