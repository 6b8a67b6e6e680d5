import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import {
  collectArg,
  durationArg,
  GRANT_STATE_NAMES,
  httpMethodArg,
  httpUrlArg,
  integerArg,
  scopesArg,
  statesArg,
} from './arg-parsers';
import type { CliIo } from './cli-io';
import { type CommandContext, createCommandContext, type GlobalOptions } from './command-context';
import { DEFAULT_CONFIG_FILE, DEFAULT_DB_FILE, ENV } from './config';

/** Receives the exit status of the command that ran. */
export interface ProgramRun {
  readonly io: CliIo;
  readonly signal: AbortSignal;
  setExitCode(code: number): void;
}

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

/**
 * Declares the `tokenvault` command line with commander. Each action loads its command module on
 * first use, so `--help` and usage errors answer without loading the engine, the store drivers or
 * the emulator.
 */
export function buildProgram(run: ProgramRun): Command {
  const program = new Command('tokenvault');
  program
    .description('Keep OAuth 2.0 grants (mixi Graph API first) in a vault: authorize, call APIs, refresh, inspect.')
    .version(VERSION, '-V, --version', 'print the version')
    .configureOutput({
      writeOut: (text) => run.io.stdout.write(text),
      writeErr: (text) => run.io.stderr.write(text),
    })
    // Usage errors and help come back to `main` as exceptions: library code never exits the process.
    .exitOverride()
    .showSuggestionAfterError(true)
    .option('--db <file>', `SQLite database file (env ${ENV.db}; default ./${DEFAULT_DB_FILE})`)
    .option('--postgres <url>', `PostgreSQL connection string, instead of SQLite (env ${ENV.postgresUrl})`)
    .option('--config <file>', `JSON config file (env ${ENV.config}; default ./${DEFAULT_CONFIG_FILE} when present)`)
    .option('--debug', 'on failure print the stack trace; log the vault on stderr')
    .option('--keys-file <file>', `file holding the encryption key ring (env ${ENV.keys} holds it inline, ${ENV.keysFile} names a file)`)
    .option('--insecure-no-encryption', 'store tokens and secrets unencrypted (refused together with keys; warns)')
    .addHelpText(
      'after',
      `
Configuration: flags, then environment variables, then the config file, then defaults.
The config file is JSON: {"db": "grants.db"} or {"postgresUrl": "postgres://…"}, plus "client"
(the default --client of authorize). A relative "db" is relative to the config file.
Encryption: tokens and secrets are stored encrypted under the key ring in ${ENV.keys}
("id:base64key,…", the first writes, all read; make a key with "tokenvault keys generate"),
or in a file named by --keys-file / ${ENV.keysFile} / the config file's "keysFile".
Exit status: 0 done, 1 failed (unknown grant, denied, store unreadable…), 2 bad command line.
${examples([
  'tokenvault demo',
  'tokenvault emulator --port 8787',
  'tokenvault clients add mixi --client-id <consumer key> --redirect-uri http://127.0.0.1:8765/callback --endpoints-from http://127.0.0.1:8787',
  'tokenvault authorize --grant alice --scope r_profile,r_voice',
  'tokenvault call --grant alice GET people/@me/@self',
  'tokenvault status --state authorized',
  'tokenvault sweep --within 2m --concurrency 16',
])}`,
    );

  /** Wraps a command's action: context, lazy module, exit status. */
  const action =
    <A extends unknown[]>(handler: (ctx: CommandContext, ...args: A) => Promise<number>) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args[args.length - 1] as Command;
      const ctx = createCommandContext(run.io, command.optsWithGlobals<GlobalOptions>(), run.signal);
      run.setExitCode(await handler(ctx, ...(args.slice(0, -1) as A)));
    };

  program
    .command('demo')
    .description('run the whole lifecycle against an in-process mixi emulator: no setup, no network')
    .addHelpText(
      'after',
      `
Starts the emulator on loopback, registers a service through its dashboard (confirmation mail
included), authorizes two users on the real consent page, keeps the grants in ./.tokenvault/demo.db
(recreated on every run), and shows refresh-once, client rejection and recovery, and reauthRequired.
${examples(['tokenvault demo', 'npm run demo'])}`,
    )
    .action(
      action(async (ctx) => {
        const { runDemo } = await import('./commands/demo');
        return runDemo(ctx);
      }),
    );

  program
    .command('authorize')
    .description('authorize a grant: print the consent URL, then take the redirect (loopback listener or pasted URL)')
    .requiredOption('--grant <id>', 'your name for the grant (a user id, say); created on first use')
    .option('--client <id>', `the registered client (env ${ENV.client}; config "client"; default: the only one)`)
    .option('--scope <scopes>', 'scopes, space- or comma-separated, repeatable (default for mixi: r_profile)', scopesArg)
    .addOption(new Option('--display <display>', 'mixi consent page layout').choices(['pc', 'touch', 'smartphone', 'ios']))
    .option('--paste', 'read the redirected URL from stdin even when the redirect URL is on loopback')
    .addHelpText(
      'after',
      `
When the client's redirect URL is http://127.0.0.1:<port>/… or http://localhost:<port>/…, the
command listens there for the redirect. Otherwise (mixi's desktop page
https://mixi.jp/connect_authorize_success.html, say) paste the URL the browser lands on, or the
code it shows. It gives up at the authorization deadline (3 minutes at mixi).
The printed URL carries the authorization's state: it is meant for the user's browser only.
Exit status: 0 authorized, 1 denied, expired or failed, 2 bad command line.
${examples([
  'tokenvault authorize --grant alice',
  'tokenvault authorize --client mixi --grant alice --scope "r_profile r_voice w_voice"',
  'tokenvault authorize --grant bob --paste < redirected-url.txt',
])}`,
    )
    .action(
      action(async (ctx, options: import('./commands/authorize').AuthorizeOptions) => {
        const { runAuthorize } = await import('./commands/authorize');
        return runAuthorize(ctx, options);
      }),
    );

  program
    .command('call')
    .description("call an API as a grant through vault.fetch: prints the status and the JSON answer")
    .argument('<method>', 'GET, HEAD, POST, PUT, PATCH or DELETE', httpMethodArg)
    .argument('<url>', "absolute URL, or a path relative to the provider's API base (mixi: https://api.mixi-platform.com/2/)")
    .requiredOption('--grant <id>', 'the grant whose token is attached')
    .option('--data <body>', 'request body: JSON ({…}) or a form (a=1&b=2); @file reads it from a file')
    .option('-H, --header <name: value>', 'extra request header, repeatable', collectArg)
    .option('--timeout <duration>', 'give up after this long, retries included (default 30s)', durationArg)
    .addHelpText(
      'after',
      `
The status line goes to stderr and the answer body to stdout (pretty-printed when it is JSON).
Exit status: 0 for a 2xx or 3xx answer, 1 otherwise.
${examples([
  'tokenvault call --grant alice GET people/@me/@self',
  'tokenvault call --grant alice GET "voice/statuses/@me/user_timeline?count=5"',
  'tokenvault call --grant alice POST voice/statuses --data "status=hello from tokenvault"',
])}`,
    )
    .action(
      action(async (ctx, method: string, url: string, options: import('./commands/call').CallOptions) => {
        const { runCall } = await import('./commands/call');
        return runCall(ctx, method, url, options);
      }),
    );

  program
    .command('status')
    .description('list grants: state, scope, expiry, last error (never a token or secret)')
    .argument('[grant...]', 'only these grants')
    .option('--state <states>', `only grants in these states, comma-separated (${GRANT_STATE_NAMES.join(', ')})`, statesArg)
    .option('--client <id>', 'only grants of this client')
    .option('--json', 'print the grants as JSON')
    .addHelpText(
      'after',
      examples(['tokenvault status', 'tokenvault status alice bob', 'tokenvault status --state reauthRequired,awaitingCode --json']),
    )
    .action(
      action(async (ctx, grants: string[], options: import('./commands/status').StatusOptions) => {
        const { runStatus } = await import('./commands/status');
        return runStatus(ctx, grants, options);
      }),
    );

  program
    .command('sweep')
    .description('refresh every grant whose access token expires soon (vault.refreshDue), with progress')
    .option('--within <duration>', 'refresh tokens expiring within this long: 90s, 2m, 1h', durationArg, 120_000)
    .option('--concurrency <n>', 'refreshes in flight at once (1-1024)', integerArg(1, 1024), 8)
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--no-progress', 'never show the progress bar')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
A progress bar is drawn on stderr when it is a terminal; otherwise one summary line is printed.
Exit status: 0 when every due grant was refreshed or needs a new authorization, 1 when some failed
transiently or their client was rejected.
${examples(['tokenvault sweep', 'tokenvault sweep --within 2m --concurrency 16', 'tokenvault sweep --within 1h --json'])}`,
    )
    .action(
      action(async (ctx, options: import('./commands/sweep').SweepOptions) => {
        const { runSweep } = await import('./commands/sweep');
        return runSweep(ctx, options);
      }),
    );

  const clients = program
    .command('clients')
    .description('the registered services (consumer key and secret, redirect URL, provider) kept in the vault')
    .addHelpText(
      'after',
      `
The consumer secret is read from stdin (--secret-stdin), from ${ENV.clientSecret}, or from a prompt
that does not echo; it is never printed (listings show a short SHA-256 fingerprint).
${examples([
  'tokenvault clients add mixi --client-id <consumer key> --redirect-uri https://mixi.jp/connect_authorize_success.html',
  'tokenvault clients list',
  'tokenvault clients rotate-secret mixi --secret-stdin < new-secret.txt',
  'tokenvault clients remove mixi',
])}`,
    );

  clients
    .command('add')
    .description('register a service')
    .argument('<id>', 'your name for the client, used by --client (e.g. mixi)')
    .addOption(new Option('--provider <name>', 'provider profile').choices(['mixi', 'oauth2']).default('mixi'))
    .requiredOption('--client-id <key>', 'the consumer key (OAuth client_id)')
    .requiredOption('--redirect-uri <url>', 'the redirect URL registered with the provider (must match exactly)', httpUrlArg)
    .option('--secret-stdin', 'read the consumer secret from stdin')
    .option('--endpoints-from <url>', 'mixi: use the endpoints of the mixi emulator at this base URL', httpUrlArg)
    .option('--authorization-endpoint <url>', 'consent page URL (mixi default: https://mixi.jp/connect_authorize.pl)', httpUrlArg)
    .option('--feature-phone-authorization-endpoint <url>', 'mixi feature-phone consent page URL', httpUrlArg)
    .option('--token-endpoint <url>', 'token endpoint URL (mixi default: https://secure.mixi-platform.com/2/token)', httpUrlArg)
    .option('--api-base-url <url>', 'base of relative API paths (mixi default: https://api.mixi-platform.com/2/)', httpUrlArg)
    .addOption(new Option('--client-auth <method>', 'oauth2: how the secret is sent').choices(['client_secret_basic', 'client_secret_post']))
    .option('--no-pkce', 'oauth2: do not send a PKCE challenge')
    .addHelpText(
      'after',
      examples([
        'tokenvault clients add mixi --client-id 908ed4da74f885a2ab --redirect-uri https://mixi.jp/connect_authorize_success.html',
        'printf %s "$SECRET" | tokenvault clients add local --client-id <key> --redirect-uri http://127.0.0.1:8765/callback --endpoints-from http://127.0.0.1:8787 --secret-stdin',
        'tokenvault clients add acme --provider oauth2 --client-id app --redirect-uri http://127.0.0.1:8765/cb --authorization-endpoint https://auth.acme.test/authorize --token-endpoint https://auth.acme.test/token',
      ]),
    )
    .action(
      action(async (ctx, id: string, options: import('./commands/clients').ClientsAddOptions) => {
        const { runClientsAdd } = await import('./commands/clients');
        return runClientsAdd(ctx, id, options);
      }),
    );

  clients
    .command('list')
    .description('list the registered services (never the secret)')
    .option('--json', 'print them as JSON')
    .addHelpText('after', examples(['tokenvault clients list', 'tokenvault clients list --json']))
    .action(
      action(async (ctx, options: { json?: boolean }) => {
        const { runClientsList } = await import('./commands/clients');
        return runClientsList(ctx, options);
      }),
    );

  clients
    .command('rotate-secret')
    .description("replace a client's consumer secret after the provider re-issued it")
    .argument('<id>', 'the client')
    .option('--secret-stdin', 'read the new consumer secret from stdin')
    .addHelpText(
      'after',
      examples(['tokenvault clients rotate-secret mixi', 'tokenvault clients rotate-secret mixi --secret-stdin < new-secret.txt']),
    )
    .action(
      action(async (ctx, id: string, options: { secretStdin?: boolean }) => {
        const { runClientsRotateSecret } = await import('./commands/clients');
        return runClientsRotateSecret(ctx, id, options);
      }),
    );

  clients
    .command('remove')
    .description('remove a registered service (refused while it has grants, unless --forget-grants)')
    .argument('<id>', 'the client')
    .option('--forget-grants', "also delete the client's grants and their tokens")
    .addHelpText('after', examples(['tokenvault clients remove mixi', 'tokenvault clients remove mixi --forget-grants']))
    .action(
      action(async (ctx, id: string, options: { forgetGrants?: boolean }) => {
        const { runClientsRemove } = await import('./commands/clients');
        return runClientsRemove(ctx, id, options);
      }),
    );

  program
    .command('token')
    .description("a valid access token for a grant (refreshed when due); printed only with --show-secret")
    .requiredOption('--grant <id>', 'the grant')
    .option('--show-secret', 'print the token itself on stdout (it is a password: keep it out of logs)')
    .addHelpText(
      'after',
      `
Without --show-secret: whether the grant has a valid token, until when, and its fingerprint.
${examples(['tokenvault token --grant alice', 'curl -H "Authorization: Bearer $(tokenvault token --grant alice --show-secret)" https://api.mixi-platform.com/2/people/@me/@self'])}`,
    )
    .action(
      action(async (ctx, options: import('./commands/token').TokenOptions) => {
        const { runToken } = await import('./commands/token');
        return runToken(ctx, options);
      }),
    );

  program
    .command('rekey')
    .description('re-encrypt every stored secret under the active key (the first of the ring), while the store stays in use')
    .option('--page-size <n>', 'rows per page (one short write each)', integerArg(1, 5_000), 500)
    .option('--pause <duration>', 'pause between pages, to leave room for other traffic (e.g. 50ms)', durationArg)
    .option('--workers <n>', 'threads that re-encrypt a large table (10,000 rows or more) while pages are read and written; 0: this thread only (default: one per CPU, at most 8)', integerArg(0, 64))
    .option('--from-plaintext', 'also read secrets stored unencrypted (a store that ran with --insecure-no-encryption)')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--no-progress', 'never show the progress bar')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Rotation: generate a key, put it FIRST in ${ENV.keys} (keep the old ones after it), give every process
the new ring, then run rekey. Afterwards no row needs the old keys; drop them from the ring.
A row changed by another process meanwhile is read again, never overwritten.
Exit status: 0 when every row is under the active key, 1 when some could not be read or kept changing.
${examples(['tokenvault keys generate --id k2', `${ENV.keys}="k2:…,k1:…" tokenvault rekey`, 'tokenvault rekey --page-size 200 --pause 50ms --json', 'tokenvault rekey --workers 0   # leave the other cores to the workers sharing this machine'])}`,
    )
    .action(
      action(async (ctx, options: import('./commands/rekey').RekeyCommandOptions) => {
        const { runRekey } = await import('./commands/rekey');
        return runRekey(ctx, options);
      }),
    );

  const keys = program.command('keys').description('encryption keys for the store');
  keys
    .command('generate')
    .description('print a new random 256-bit key as id:base64url (the one thing this command prints is the key)')
    .option('--id <id>', 'key id: 1-32 letters, digits, "_" or "-" (default: k + 8 hex digits)')
    .addHelpText('after', examples(['tokenvault keys generate --id k2 > k2.key', `export ${ENV.keys}="$(tokenvault keys generate)"`]))
    .action(
      action(async (ctx, options: import('./commands/keys').KeysGenerateOptions) => {
        const { runKeysGenerate } = await import('./commands/keys');
        return runKeysGenerate(ctx, options);
      }),
    );

  program
    .command('emulator')
    .description('run the mixi emulator on its own until interrupted (dashboard, consent page, token endpoint, APIs)')
    .option('--port <n>', 'TCP port; 0 picks a free one', integerArg(0, 65_535), 8787)
    .option('--host <address>', 'interface address', '127.0.0.1')
    .option('--control', 'enable the /_emulator control API (loopback only)')
    .option('--auto-create-users', 'create a test user on first login with any username and password')
    .option('--json', 'print one JSON line with every URL')
    .addHelpText(
      'after',
      examples([
        'tokenvault emulator --port 8787',
        'tokenvault emulator --port 0 --json --auto-create-users',
        'tokenvault emulator --control   # then POST /_emulator/clock/advance {"ms": 960000}',
      ]),
    )
    .action(
      action(async (ctx, options: import('./commands/emulator').EmulatorOptions) => {
        const { runEmulator } = await import('./commands/emulator');
        return runEmulator(ctx, options);
      }),
    );

  return program;
}
