import type { HttpBindings } from '@hono/node-server';
import type { ResolvedEmulatorOptions } from '../emulator-options';
import type { ConsentSessions } from '../state/consent-sessions';
import type { Counters } from '../state/counters';
import type { FaultInjector } from '../state/fault-injector';
import type { GrantLedger } from '../state/grant-ledger';
import type { ServiceRegistry } from '../state/service-registry';
import type { UserDirectory } from '../state/user-directory';
import type { VirtualClock } from '../virtual-clock';

/**
 * The Hono environment. Under `@hono/node-server` the bindings carry the Node request and response
 * (needed to drop a connection and to see the peer's address); in-process `app.fetch` has none, so
 * read them through `nodeBindings(c)`, never `c.env` directly.
 */
export interface AppEnv {
  Bindings: Partial<HttpBindings>;
}

/** Everything the routes read and change: one emulator's state. */
export interface EmulatorState {
  readonly options: ResolvedEmulatorOptions;
  readonly clock: VirtualClock;
  readonly services: ServiceRegistry;
  readonly users: UserDirectory;
  readonly ledger: GrantLedger;
  readonly sessions: ConsentSessions;
  readonly counters: Counters;
  readonly faults: FaultInjector;
}
