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
// The process lives until the command has finished, even while everything it awaits sits on unref'd
// timers (retry backoffs are unref'd so they never hold a server open): without this, a call waiting
// out a backoff would end the process mid-command (exit 13, "unsettled top-level await").
const keepAlive = setInterval(() => undefined, 1 << 30);
try {
  process.exitCode = await main(process.argv, processIo(), { signal: interrupted.signal });
} finally {
  clearInterval(keepAlive);
  // A second Ctrl-C after this point gets Node's default: exit at once.
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
