import type { Hono } from 'hono';
import { EmulatorError } from './emulator-error';
import { resolveEmulatorOptions, type MixiEmulatorOptions, type ResolvedEmulatorOptions } from './emulator-options';
import type { AppEnv, EmulatorState } from './http/app-context';
import { createApp } from './http/create-app';
import { parseScope } from './scopes';
import { listen, type ListenOptions, type RunningEmulator } from './server';
import { ConsentSessions } from './state/consent-sessions';
import { Counters } from './state/counters';
import { FaultInjector } from './state/fault-injector';
import { GrantLedger, viewGrant, type GrantInfo, type MintedGrant, type TokenLookup } from './state/grant-ledger';
import {
  ServiceRegistry,
  viewService,
  type OutboxMail,
  type ServiceCredentials,
  type ServiceInput,
  type ServiceUpdate,
  type ServiceView,
} from './state/service-registry';
import { UserDirectory, viewUser, type TestUserInput, type TestUserView, type UserRecord } from './state/user-directory';
import { pooledRandomBytes, TokenGenerator } from './token-generator';
import { VirtualClock } from './virtual-clock';

/** Input of {@link MixiEmulator.mintGrant}. */
export interface MintGrantInput {
  /** Consumer key of a registered, confirmed service. */
  readonly clientId: string;
  /** Scopes, as a space-separated string or a list (validated like an authorization request). */
  readonly scope: string | readonly string[];
  /** An existing test user (username or user id); a username not yet taken creates the user. Default: a fresh user. */
  readonly username?: string;
}

/** Input of {@link MixiEmulator.mintGrants}. */
export interface MintGrantsInput extends MintGrantInput {
  /** How many grants, 1–100 000. Each gets a fresh user unless `username` names one. */
  readonly count: number;
}

const MAX_BATCH = 100_000;

/**
 * The handles and helpers of an emulator that tests, the demo and benchmarks use instead of clicking
 * through HTML. Each has an HTTP twin (dashboard JSON API or control API) that calls it, because
 * other processes drive the emulator too.
 */
export interface MixiEmulatorControls {
  /** The options in force, defaults applied. */
  readonly options: ResolvedEmulatorOptions;
  /** The virtual clock: `now()`, `advance(ms)`, `set(epochMs)`. */
  readonly clock: VirtualClock;
  /** Fault rules: `add(rule)`, `remove(id)`, `clear()`, `list()`. */
  readonly faults: FaultInjector;
  /** Counters: `snapshot()`, `reset()`. */
  readonly counters: Counters;
  /** Registers a service and confirms its e-mail at once; returns its credentials. */
  registerService(input: ServiceInput): ServiceCredentials;
  /** Changes a service's registered details (an e-mail change waits for confirmation). */
  updateService(service: string, update: ServiceUpdate): ServiceView;
  /** A service by service id or consumer key. */
  getService(service: string): ServiceView;
  /** Re-issues the ConsumerSecret; the old one stops working at once. */
  reissueSecret(service: string): ServiceCredentials;
  /** Deletes a service; its credentials and its users' tokens stop working. */
  deleteService(service: string): void;
  /** The confirmation mails, oldest first (optionally only those to one address). */
  outbox(to?: string): OutboxMail[];
  /** Follows a confirmation link's token. */
  confirmEmail(token: string): ServiceView;
  /** Creates a test user who can log in on the consent page. */
  createTestUser(input: TestUserInput): TestUserView;
  /** Issues a grant and its first token pair without the consent page. */
  mintGrant(input: MintGrantInput): MintedGrant;
  /** {@link mintGrant}, `count` times. */
  mintGrants(input: MintGrantsInput): MintedGrant[];
  /** A grant by id. */
  getGrant(grantId: string): GrantInfo;
  /** The grant that one of its tokens (current or past) belongs to. */
  findGrant(lookup: TokenLookup): GrantInfo | undefined;
  /** Revokes a grant (its tokens stop working). */
  revokeGrant(grantId: string): GrantInfo;
  /** Revokes every grant of a user (username or id), optionally only those of one client; returns how many. */
  revokeUserGrants(user: string, clientId?: string): number;
  /** Expires the grant's current refresh token now. */
  expireRefreshToken(grantId: string): GrantInfo;
  /** Expires the grant's newest access token now. */
  expireAccessToken(grantId: string): GrantInfo;
}

/** One emulated mixi platform: its HTTP app, ways to serve it, and its {@link MixiEmulatorControls}. */
export interface MixiEmulator extends MixiEmulatorControls {
  /** The Hono app (mount it elsewhere, or serve it yourself). */
  readonly app: Hono<AppEnv>;
  /**
   * In-process entry point (`app.fetch`): no socket. A fault rule that drops the connection makes the
   * promise reject with `ConnectionDroppedError`, as a network failure would.
   */
  readonly fetch: (request: Request) => Promise<Response>;
  /** Serves the app on loopback (`{ port: 0, host: '127.0.0.1' }` by default). */
  listen(options?: ListenOptions): Promise<RunningEmulator>;
}

/**
 * Creates an emulated mixi platform with its own state, clock and randomness.
 *
 * @example
 * ```ts
 * const emulator = createMixiEmulator({ control: true });
 * const { clientId, clientSecret } = emulator.registerService({
 *   name: 'Demo', description: 'A demo', redirectUrl: 'http://127.0.0.1:3000/callback', inquiryEmail: 'dev@example.com',
 * });
 * const server = await emulator.listen();
 * const grant = emulator.mintGrant({ clientId, scope: 'r_profile r_voice' });
 * const me = await fetch(`${server.url}/2/people/@me/@self`, { headers: { Authorization: `Bearer ${grant.accessToken}` } });
 * await server.close();
 * ```
 */
export function createMixiEmulator(options: MixiEmulatorOptions = {}): MixiEmulator {
  const resolved = resolveEmulatorOptions(options);
  const clock = new VirtualClock({
    ...(options.now === undefined ? {} : { source: options.now }),
    ...(options.startAt === undefined ? {} : { startAt: options.startAt }),
  });
  const tokens = new TokenGenerator(options.randomBytes ?? pooledRandomBytes());
  const counters = new Counters();
  const state: EmulatorState = {
    options: resolved,
    clock,
    services: new ServiceRegistry(clock, tokens),
    users: new UserDirectory(clock, tokens),
    ledger: new GrantLedger(clock, tokens, resolved, counters),
    sessions: new ConsentSessions(clock, tokens),
    counters,
    faults: new FaultInjector(),
  };
  let freshUsers = 0;

  const userFor = (username: string | undefined): UserRecord => {
    if (username !== undefined) return state.users.byId(username) ?? state.users.byUsername(username) ?? state.users.create({ username });
    let name: string;
    do name = `user-${++freshUsers}`;
    while (state.users.byUsername(name));
    return state.users.create({ username: name });
  };

  const mintGrant = (input: MintGrantInput): MintedGrant => {
    const service = state.services.findClient(input.clientId);
    if (!service) throw new EmulatorError('unknown_service', 'clientId is not a registered, confirmed service', { field: 'clientId' });
    const scope = parseScope(typeof input.scope === 'string' ? input.scope : input.scope.join(' '));
    if (!scope.ok) throw new EmulatorError('invalid_input', scope.description, { field: 'scope' });
    return state.ledger.mint(service, userFor(input.username), scope.scopes);
  };

  const controls: MixiEmulatorControls = {
    options: resolved,
    clock,
    faults: state.faults,
    counters,

    registerService: (input) => state.services.registerConfirmed(input),
    updateService: (service, update) => viewService(state.services.update(service, update)),
    getService: (service) => viewService(state.services.get(service)),
    reissueSecret: (service) => state.services.reissueSecret(service),
    deleteService: (service) => state.services.delete(service),
    outbox: (to) => state.services.outbox(to),
    confirmEmail: (token) => viewService(state.services.confirm(token)),
    createTestUser: (input) => viewUser(state.users.create(input)),
    mintGrant,
    mintGrants: (input) => {
      if (!Number.isSafeInteger(input.count) || input.count < 1 || input.count > MAX_BATCH) {
        throw new EmulatorError('invalid_input', `count must be an integer from 1 to ${MAX_BATCH}`, { field: 'count' });
      }
      const grants: MintedGrant[] = [];
      for (let i = 0; i < input.count; i++) grants.push(mintGrant(input));
      return grants;
    },
    getGrant: (grantId) => viewGrant(state.ledger.get(grantId)),
    findGrant: (lookup) => {
      const grant = state.ledger.find(lookup);
      return grant && viewGrant(grant);
    },
    revokeGrant: (grantId) => viewGrant(state.ledger.revoke(grantId)),
    revokeUserGrants: (user, clientId) =>
      state.ledger.revokeUser(state.users.resolve(user), clientId === undefined ? undefined : state.services.get(clientId)),
    expireRefreshToken: (grantId) => viewGrant(state.ledger.expireRefreshToken(grantId)),
    expireAccessToken: (grantId) => viewGrant(state.ledger.expireAccessToken(grantId)),
  };
  const app = createApp(state, controls);
  return {
    ...controls,
    app,
    fetch: async (request) => app.fetch(request),
    listen: (listenOptions = {}) => listen(app.fetch, listenOptions, resolved.control),
  };
}
