#!/usr/bin/env node
/**
 * The `tokenvault` executable: runs `main` with the real process, turns SIGINT/SIGTERM into an abort
 * the running command honours (it closes what it opened and exits 130), and sets the exit status.
 */
import { processIo } from './cli-io';
import { main } from './main';

const interrupted = new AbortController();
const onSignal = (): void => interrupted.abort();
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
try {
  process.exitCode = await main(process.argv, processIo(), { signal: interrupted.signal });
} finally {
  // A second Ctrl-C after this point gets Node's default: exit at once.
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
