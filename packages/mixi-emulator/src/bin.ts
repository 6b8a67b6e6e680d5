import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EmulatorError } from './emulator-error';
import { createMixiEmulator } from './mixi-emulator';
import { emulatorUrls } from './mixi-endpoints';
import type { RunningEmulator } from './server';

/** Where `main` writes and whether it owns the process's signals. */
export interface MainIo {
  readonly stdout?: (line: string) => void;
  readonly stderr?: (line: string) => void;
  /** Stop on SIGINT/SIGTERM and exit the process. Default true; tests pass false and close it themselves. */
  readonly handleSignals?: boolean;
}

const USAGE = `usage: mixi-emulator [--port <n>] [--host <address>] [--control] [--auto-create-users] [--json]

  --port               TCP port (default 0: any free port)
  --host               interface address (default 127.0.0.1)
  --control            enable the /_emulator control API (loopback only)
  --auto-create-users  create a test user on first login with any username/password
  --json               print one JSON line with every URL instead of the text listing
  --help               show this help`;

/**
 * The standalone emulator: parses `--port --host --control --auto-create-users --json`, starts the
 * server, prints its URLs and, unless told otherwise, stops on SIGINT/SIGTERM. Resolves to the
 * running server, or to an exit code when it could not start (2: bad arguments, 1: failed to listen).
 *
 * @example
 * ```ts
 * const running = await main(['--port', '8787', '--control']);
 * ```
 */
export async function main(argv: readonly string[], io: MainIo = {}): Promise<RunningEmulator | number> {
  const out = io.stdout ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = io.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
  let values: { port?: string; host?: string; control?: boolean; 'auto-create-users'?: boolean; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        control: { type: 'boolean' },
        'auto-create-users': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    err(`mixi-emulator: ${error instanceof Error ? error.message : String(error)}`);
    err(USAGE);
    return 2;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (values.port !== undefined && (!/^\d{1,5}$/.test(values.port) || port > 65_535)) {
    err(`mixi-emulator: --port must be a number from 0 to 65535`);
    return 2;
  }

  const emulator = createMixiEmulator({ control: values.control ?? false, autoCreateUsers: values['auto-create-users'] ?? false });
  let running: RunningEmulator;
  try {
    running = await emulator.listen({ port, host: values.host ?? '127.0.0.1' });
  } catch (error) {
    err(`mixi-emulator: ${error instanceof Error ? error.message : String(error)}`);
    return error instanceof EmulatorError && error.code === 'control_not_loopback' ? 2 : 1;
  }

  const urls = emulatorUrls(running.url);
  if (values.json) {
    out(JSON.stringify({ ...urls, control: emulator.options.control }));
  } else {
    out(`mixi emulator listening on ${urls.baseUrl}`);
    out(`  dashboard:                 ${urls.dashboardUrl}`);
    out(`  dashboard API:             ${urls.dashboardApiUrl}`);
    out(`  authorization (PC/phone):  ${urls.authorizationEndpoint}`);
    out(`  authorization (feature):   ${urls.featurePhoneAuthorizationEndpoint}`);
    out(`  token:                     ${urls.tokenEndpoint}`);
    out(`  API base:                  ${urls.apiBaseUrl}`);
    out(`  desktop redirect page:     ${urls.desktopRedirectUrl}`);
    out(`  control API:               ${emulator.options.control ? urls.controlUrl : 'off (start with --control)'}`);
  }

  if (io.handleSignals ?? true) {
    const stop = () => {
      running.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  return running;
}

function runDirectly(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (runDirectly()) {
  main(process.argv.slice(2)).then(
    (result) => {
      if (typeof result === 'number') process.exitCode = result;
    },
    (error: unknown) => {
      process.stderr.write(`mixi-emulator: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
