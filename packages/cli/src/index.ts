/**
 * @tokenvault/cli — the `tokenvault` command line (demo, authorize, call, status, sweep, clients,
 * emulator) as a function, for embedding and tests.
 *
 * @example
 * import { main } from '@tokenvault/cli';
 * process.exitCode = await main(process.argv);
 */
export { main, type MainOptions } from './main';
export { processIo, type CliIo } from './cli-io';
export { CliError, UsageError, EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED } from './cli-errors';
export { loadConfig, type CliConfig, type ConfigFlags, type StoreLocation, DEFAULT_DB_FILE, DEFAULT_CONFIG_FILE, ENV } from './config';
export { parseDuration, formatDuration, formatRelative } from './duration';
