/**
 * Child processes a benchmark run started (the emulator, workers), so an interrupted run does not
 * leave them behind: `killChildrenOnExit()` ends them when this process exits or is told to stop.
 */
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();

/** Remembers a child until it exits. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** On exit, SIGINT or SIGTERM, kills every tracked child that is still running (SIGKILL). */
export function killChildrenOnExit(): void {
  const killAll = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
}
