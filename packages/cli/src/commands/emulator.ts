import { createMixiEmulator, EmulatorError, emulatorUrls } from '@tokenvault/mixi-emulator';
import { CliError, EXIT_OK, EXIT_USAGE } from '../cli-errors';
import type { CommandContext } from '../command-context';

/** Options of `tokenvault emulator`. */
export interface EmulatorOptions {
  readonly port: number;
  readonly host: string;
  readonly control?: boolean;
  readonly autoCreateUsers?: boolean;
  readonly json?: boolean;
}

/**
 * `tokenvault emulator`: serves a fresh mixi emulator until SIGINT/SIGTERM, then closes it and exits 0.
 * Prints every URL (or, with `--json`, one JSON line a program can read).
 */
export async function runEmulator(ctx: CommandContext, options: EmulatorOptions): Promise<number> {
  const emulator = createMixiEmulator({ control: options.control === true, autoCreateUsers: options.autoCreateUsers === true });
  let running: Awaited<ReturnType<typeof emulator.listen>>;
  try {
    running = await emulator.listen({ port: options.port, host: options.host });
  } catch (error) {
    if (!(error instanceof EmulatorError)) throw error;
    throw new CliError(error.message, { exitCode: error.code === 'control_not_loopback' ? EXIT_USAGE : 1, cause: error });
  }
  const urls = emulatorUrls(running.url);
  if (options.json) {
    ctx.out(JSON.stringify({ ...urls, control: emulator.options.control }));
  } else {
    ctx.out(`mixi emulator listening on ${urls.baseUrl} (stop with Ctrl-C)`);
    ctx.out(`  dashboard:                ${urls.dashboardUrl}`);
    ctx.out(`  dashboard API:            ${urls.dashboardApiUrl}`);
    ctx.out(`  authorization (PC/phone): ${urls.authorizationEndpoint}`);
    ctx.out(`  authorization (feature):  ${urls.featurePhoneAuthorizationEndpoint}`);
    ctx.out(`  token:                    ${urls.tokenEndpoint}`);
    ctx.out(`  API base:                 ${urls.apiBaseUrl}`);
    ctx.out(`  desktop redirect page:    ${urls.desktopRedirectUrl}`);
    ctx.out(`  control API:              ${emulator.options.control ? urls.controlUrl : 'off (start with --control)'}`);
    ctx.out('');
    ctx.out(`Register a service on the dashboard, confirm it from the outbox, then:`);
    ctx.out(`  tokenvault clients add mixi --client-id <consumer key> --redirect-uri <its redirect URL> --endpoints-from ${urls.baseUrl}`);
  }
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await running.close();
  ctx.err('mixi emulator stopped');
  return EXIT_OK;
}
