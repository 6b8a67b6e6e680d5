import { Worker } from 'node:worker_threads';
import { REKEY_WORKER_SOURCE } from './rekey-worker-source';

/**
 * Worker threads that re-encode stored secrets under a codec's active key, for `rekey`: a page's
 * values are split across the threads while the calling thread reads and writes the database.
 * Made by {@link SecretCodec.startRekeyWorkers}; always {@link close} it (a `finally`).
 *
 * The threads hold the process open only while a batch is in flight, so a forgotten pool never keeps
 * a process alive; `close` terminates them.
 */
export interface RekeyWorkers {
  /** How many threads share each batch. */
  readonly threads: number;
  /**
   * `values[i]`, stored at `locations[i]` (`table/column/key`, as {@link formatSecretLocation} writes
   * it), decoded and encoded again under the active key; `null` where it does not decode (tampered,
   * unknown key, not encrypted), as `decode` would have thrown.
   */
  recode(values: readonly string[], locations: readonly string[]): Promise<(string | null)[]>;
  /** Terminates the threads; batches still in flight are rejected. Safe to call more than once. */
  close(): Promise<void>;
}

/** What the threads are given, copied into each at its start (never logged, never in argv or env). */
export interface RekeyWorkerKeys {
  readonly keys: readonly { readonly id: string; readonly key: Uint8Array }[];
  readonly activeKeyId: string;
  readonly acceptUnencrypted: boolean;
}

/** Thrown by `recode` when a thread failed or the pool was closed. Names no value and no key. */
export class RekeyWorkerError extends Error {
  override readonly name = 'RekeyWorkerError';
}

interface Pending {
  readonly resolve: (out: (string | null)[]) => void;
  readonly reject: (error: Error) => void;
}

class WorkerSlot {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();

  constructor(config: RekeyWorkerKeys, onFailure: (error: Error) => void) {
    // The key bytes go over as workerData (copied at construction); the thread zeroes its copy.
    const keys = config.keys.map((k) => ({ id: k.id, key: Uint8Array.from(k.key) }));
    try {
      this.worker = new Worker(REKEY_WORKER_SOURCE, {
        eval: true,
        workerData: { keys, activeKeyId: config.activeKeyId, acceptUnencrypted: config.acceptUnencrypted },
        // No loader of the parent's (tsx, say): the program is plain JavaScript on node:crypto.
        execArgv: [],
        stdout: true,
        stderr: true,
      });
    } finally {
      for (const k of keys) k.key.fill(0);
    }
    this.worker.on('message', (message: { id: number; out?: (string | null)[]; failed?: true }) => {
      const pending = this.pending.get(message.id);
      if (pending === undefined) return;
      this.#settled(message.id);
      if (message.out !== undefined) pending.resolve(message.out);
      else pending.reject(new RekeyWorkerError('a rekey worker could not re-encode a batch'));
    });
    // The thread's own error text is not passed on: it could quote what the thread was working on.
    this.worker.on('error', () => onFailure(new RekeyWorkerError('a rekey worker thread failed')));
    this.worker.on('exit', () => onFailure(new RekeyWorkerError('a rekey worker thread exited')));
    // After the listeners: adding a 'message' listener refs the thread again.
    this.worker.unref();
  }

  send(id: number, values: readonly string[], locations: readonly string[]): Promise<(string | null)[]> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, values, locations });
    });
  }

  /** Rejects what is in flight. `release`: let the process exit without this thread (not while closing). */
  failAll(error: Error, release: boolean): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    if (release) this.worker.unref();
    for (const p of pending) p.reject(error);
  }

  #settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }
}

/** Below this many values a batch is not split: a message each way costs more than the work. */
const MIN_VALUES_PER_THREAD = 64;

/**
 * Starts `threads` rekey worker threads for the given keys. @internal — codecs call it from
 * `startRekeyWorkers`; rekey code uses the {@link RekeyWorkers} it returns.
 */
export function startRekeyWorkers(config: RekeyWorkerKeys, threads: number): RekeyWorkers {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError('rekey workers: "threads" must be a positive integer');
  let failure: Error | undefined;
  let closing: Promise<void> | undefined;
  let nextId = 0;
  const slots: WorkerSlot[] = [];
  const fail = (error: Error) => {
    failure ??= error;
    for (const slot of slots) slot.failAll(failure, closing === undefined);
  };
  try {
    for (let i = 0; i < threads; i++) slots.push(new WorkerSlot(config, fail));
  } catch (error) {
    for (const slot of slots) void slot.worker.terminate();
    throw error;
  }
  return {
    threads,
    async recode(values, locations) {
      if (failure !== undefined) throw failure;
      if (values.length !== locations.length) throw new RangeError('rekey workers: one location per value');
      if (values.length === 0) return [];
      const parts = Math.max(1, Math.min(slots.length, Math.floor(values.length / MIN_VALUES_PER_THREAD)));
      const size = Math.ceil(values.length / parts);
      const batches: Promise<(string | null)[]>[] = [];
      for (let p = 0; p < parts; p++) {
        const from = p * size;
        // The least busy thread takes the next part (ties: the first).
        const slot = slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
        batches.push(slot.send(nextId++, values.slice(from, from + size), locations.slice(from, from + size)));
      }
      const outs = await Promise.all(batches);
      return outs.length === 1 ? (outs[0] as (string | null)[]) : outs.flat();
    },
    close() {
      closing ??= (async () => {
        failure ??= new RekeyWorkerError('the rekey workers were closed');
        for (const slot of slots) slot.failAll(failure, false);
        // Held open until they are gone: an awaited terminate of unref'd threads could otherwise let
        // the event loop run dry first (and a top-level await end with "unsettled").
        await Promise.all(
          slots.map((slot) => {
            slot.worker.ref();
            return slot.worker.terminate();
          }),
        );
      })();
      return closing;
    },
  };
}
