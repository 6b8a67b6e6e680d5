/**
 * What the orchestrator and a worker process (`vault-worker.ts`) say to each other. The worker
 * reads one JSON config file (its path is the only argument), prints `ready`, then runs one command
 * per stdin line and answers each with one `result` line on stdout. The first command is the "go":
 * the orchestrator writes it to every worker at once, so all processes start together.
 */
import type { StoreSpec } from './store-spec';
import type { EmulatorClient } from './emulator-control';

/** Which token engine a worker runs. */
export type ContenderName = 'tokenvault' | 'simple-oauth2' | 'oauth2-client';

/** A grant a storm worker calls: the tokens a competitor's per-process storage starts with. */
export interface StormGrant {
  readonly grantId: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** When the access token expires, in real (not virtual) epoch ms: what a library compares with `Date.now()`. */
  readonly expiresAtRealMs: number;
}

export interface WorkerConfig {
  /** Shown in errors. */
  readonly label: string;
  readonly contender: ContenderName;
  readonly emulator: { readonly url: string; readonly client: EmulatorClient };
  /** tokenvault only: the shared store. */
  readonly store?: StoreSpec;
  /** Storms: a JSON file holding `StormGrant[]`, the grants every caller set works on. */
  readonly grantsFile?: string;
  /** tokenvault only: vault options a test changes (the rest are the defaults). */
  readonly vault?: {
    readonly leaseMs?: number;
    readonly requestTimeoutMs?: number;
    readonly cache?: boolean;
    /** Token requests through the global fetch instead of the vault's own node:http connections. */
    readonly tokenRequestsViaFetch?: boolean;
  };
  /**
   * Crash tests: token-endpoint answers to refreshes of these refresh tokens are received in full and
   * then held forever (the worker prints `held`), so the process can be killed after the provider
   * rotated the token and before the vault could store the answer.
   */
  readonly holdRefreshAnswers?: readonly string[];
}

/** How storm callers ask: `getAccessToken`, `vault.fetch` of the People API, or one `fetch` caller per grant and the rest `getAccessToken`. */
export type CallPath = 'token' | 'fetch' | 'mixed';

export type WorkerCommand =
  | {
      readonly cmd: 'storm';
      /** The emulator's virtual clock offset: the vault's clock is `Date.now() + offsetMs`. */
      readonly offsetMs: number;
      readonly callersPerGrant: number;
      readonly call: CallPath;
      /** After the storm (untimed): call the API once with each grant's final token. */
      readonly validate: boolean;
      /**
       * Unset: every caller starts at once. Set: callers start grant by grant (the C callers of a grant
       * together), at most this many in flight, which keeps a client that opens one connection per
       * request within the machine's file descriptors.
       */
      readonly maxInFlight?: number;
    }
  | {
      readonly cmd: 'sweep';
      readonly offsetMs: number;
      readonly concurrency: number;
      readonly withinMs: number;
    }
  | { readonly cmd: 'exit' };

export interface StormResult {
  readonly type: 'result';
  readonly cmd: 'storm';
  readonly pid: number;
  /** Epoch ms (real) when the command arrived and when the last caller settled. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly callers: number;
  readonly ok: number;
  /** Failed callers by error code (`reauth_required`, `store_error`, …). */
  readonly errors: Readonly<Record<string, number>>;
  /** The first error of each code, its message and causes. */
  readonly errorSamples: Readonly<Record<string, string>>;
  /** Each caller's time from its call to its answer, ms (0.1 ms resolution). */
  readonly latencies: readonly number[];
  /** Per grant: a fingerprint of the access token this process ends with, or null if it has none. */
  readonly final: Readonly<Record<string, string | null>>;
  /** Callers handed a token other than the one their process ended with. */
  readonly inconsistent: number;
  /** Final tokens checked against the API, and how many it refused (no token at all counts as refused). */
  readonly validated: number;
  readonly invalidFinal: number;
  /** The grants whose final token the API refused, or that this process has no token for. */
  readonly rejected: readonly string[];
  /** Log lines by message (warn and error), e.g. lease takeovers. */
  readonly logs: Readonly<Record<string, number>>;
}

export interface SweepResult {
  readonly type: 'result';
  readonly cmd: 'sweep';
  readonly pid: number;
  readonly summary: {
    readonly seen: number;
    readonly refreshed: number;
    readonly alreadyFresh: number;
    readonly refreshingElsewhere: number;
    readonly reauthRequired: number;
    readonly clientRejected: number;
    readonly failed: number;
    readonly unreadable: number;
  };
  readonly wallMs: number;
  /** This process's CPU time (user + system) during the sweep. */
  readonly cpuMs: number;
  /** Time spent in garbage collection during the sweep (V8's gc performance entries), ms. */
  readonly gcMs: number;
  /** RSS sampled every 100 ms during the sweep, and the process's lifetime maximum (getrusage). */
  readonly peakRssMb: number;
  readonly maxRssMb: number;
  readonly startRssMb: number;
  readonly logs: Readonly<Record<string, number>>;
}

export type WorkerMessage =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'held'; readonly pid: number }
  | { readonly type: 'error'; readonly pid: number; readonly message: string }
  | StormResult
  | SweepResult;
