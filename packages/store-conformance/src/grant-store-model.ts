import fc from 'fast-check';
import { expect } from 'vitest';
import {
  GRANT_STATES,
  memoryStore,
  Secret,
  type ClientRecord,
  type DueGrant,
  type GrantFilter,
  type GrantRecord,
  type GrantStore,
  type Page,
} from '@tokenvault/core';
import { BASE_TIME } from './grant-record-builder';
import { toPlainClient, toPlainGrant } from './plain-records';
import type { StoreHarnessFactory } from './store-harness';

/**
 * The model-based test: random command sequences run against the adapter and against the memory store
 * (the model), and every answer must match, errors included (compared by code).
 */

interface Env {
  readonly store: GrantStore;
}

type Outcome = { readonly ok: unknown } | { readonly error: string };

/** Few ids, so commands collide on them; they cover ordering traps (case, accents, U+FFFD vs astral). */
const GRANT_IDS = ['a', '\u{1F600}', '\uFFFD', 'b', 'B', 'é', 'a\u0301', '日本', 'z'.repeat(300)] as const;
const CLIENTS = ['mixi', 'other'] as const;
const STATE_HASHES = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const;

const at = fc.integer({ min: 0, max: 10 }).map((t) => BASE_TIME + t);
const text = fc.string({ unit: 'binary', maxLength: 12 });
const secret = fc.option(text.map((s) => new Secret(s)), { nil: null });
const scope = fc.array(fc.constantFrom('r_profile', 'r_voice', 'w_voice', 'openid', 'スコープ'), { maxLength: 4 });

/** Everything of a record but its id and version. Rarely breaks an invariant: both stores must refuse it alike. */
const recordFields = fc
  .record({
    client: fc.constantFrom(...CLIENTS),
    state: fc.constantFrom(...GRANT_STATES),
    scope,
    accessToken: secret,
    accessTokenExpiresAt: fc.option(at, { nil: null }),
    refreshToken: secret,
    idToken: secret,
    tokenType: fc.option(fc.constantFrom('Bearer', 'bearer'), { nil: null }),
    tokensIssuedAt: fc.option(at, { nil: null }),
    authorizationOrder: fc.option(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), { nil: null }),
    pending: fc.option(
      fc.record({
        stateHash: fc.constantFrom(...STATE_HASHES),
        deadline: at,
        scope,
        redirectUri: fc.constantFrom('https://app.example/cb', 'http://localhost/cb'),
        codeVerifier: secret,
        serverState: secret,
      }),
      { nil: null },
    ),
    leaseOwner: fc.constantFrom('w1', 'w2'),
    leaseUntil: at,
    lastError: fc.option(
      fc.record({ code: fc.constantFrom('provider_unavailable', 'server_error'), message: text, at, retryAt: fc.option(at, { nil: null }) }),
      { nil: null },
    ),
    createdAt: at,
    updatedAt: at,
    breakInvariant: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
  })
  .map(({ leaseOwner, leaseUntil, breakInvariant, ...f }) => {
    const refreshing = f.state === 'refreshing';
    return {
      ...f,
      // Invariant: a lease exactly when refreshing, a reason exactly when reauthRequired.
      lease: refreshing !== breakInvariant ? { owner: leaseOwner, until: leaseUntil } : null,
      reauthReason: f.state === 'reauthRequired' ? ('token_revoked' as const) : null,
    };
  });

type RecordFields = Omit<GrantRecord, 'grantId' | 'version'>;

const filter: fc.Arbitrary<GrantFilter> = fc.record(
  {
    state: fc.oneof(fc.constantFrom(...GRANT_STATES), fc.subarray([...GRANT_STATES])),
    client: fc.constantFrom(...CLIENTS),
  },
  { requiredKeys: [] },
);

function errorCode(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' && 'name' in e) {
    return `${String(e.name)}:${e.code}`;
  }
  return `unexpected: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
}

async function outcome(f: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: await f() };
  } catch (e) {
    return { error: errorCode(e) };
  }
}

/** Walks every page of a listing; the plain items page by page (cursors are adapter business). */
async function walk(list: (cursor: string | undefined) => Promise<Page<GrantRecord | DueGrant>>): Promise<unknown[]> {
  const pages: unknown[] = [];
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    // Records compare by their plain form; a timed listing's keys ({ grantId, at }) as they are.
    const items = page.items.map((r) => ('version' in r ? toPlainGrant(r) : { ...r }));
    pages.push({ items, more: page.cursor !== undefined, unreadable: page.unreadable?.length ?? 0 });
    cursor = page.cursor;
  } while (cursor !== undefined && pages.length < 100);
  return pages;
}

/**
 * One step: the same call on the model and on the adapter, answers compared. `prepare` reads what the
 * call needs from the model (the current version, say) so both stores get identical arguments.
 */
class StoreCommand<A> implements fc.AsyncCommand<Env, Env> {
  constructor(
    private readonly label: string,
    private readonly prepare: (model: GrantStore) => Promise<A>,
    private readonly act: (store: GrantStore, args: A) => Promise<unknown>,
  ) {}

  check(): boolean {
    return true;
  }

  async run(model: Env, real: Env): Promise<void> {
    const args = await this.prepare(model.store);
    const expected = await outcome(() => this.act(model.store, args));
    const actual = await outcome(() => this.act(real.store, args));
    expect(actual, this.label).toEqual(expected);
  }

  toString(): string {
    return this.label;
  }
}

const noArgs = async (): Promise<undefined> => undefined;

function commandArbitraries(): fc.Arbitrary<fc.AsyncCommand<Env, Env>>[] {
  // Most commands hit a few ids, so grants live long enough to be changed, listed and deleted.
  const grantId = fc.oneof({ arbitrary: fc.constantFrom(...GRANT_IDS.slice(0, 3)), weight: 3 }, { arbitrary: fc.constantFrom(...GRANT_IDS), weight: 1 });
  const limit = fc.integer({ min: 1, max: 4 });
  const create = fc.tuple(grantId, recordFields, fc.constantFrom(1, 1, 1, 2)).map(
      ([id, fields, version]) =>
        new StoreCommand(`create(${id}, ${fields.state}, v${version})`, noArgs, (s) => s.create({ ...(fields as RecordFields), grantId: id, version })),
  );
  const compareAndSet = fc.tuple(grantId, recordFields, fc.constantFrom(0, 0, 0, 0, 0, -1, 1, 5)).map(
    ([id, fields, delta]) =>
      new StoreCommand(
        `compareAndSet(${id}, ${fields.state}, version ${delta >= 0 ? '+' : ''}${delta})`,
        async (m) => ((await m.get(id))?.version ?? 1) + delta,
        (s, expected) => s.compareAndSet({ ...(fields as RecordFields), grantId: id, version: expected + 1 }, expected),
      ),
  );
  // Writes are listed more than once: they make the state that the reads then explore.
  return [
    create,
    create,
    compareAndSet,
    compareAndSet,
    compareAndSet,
    grantId.map((id) => new StoreCommand(`get(${id})`, noArgs, async (s) => toPlainGrant(await s.get(id)))),
    fc.tuple(grantId, fc.constantFrom('any', 'current', 'stale')).map(
      ([id, mode]) =>
        new StoreCommand(
          `delete(${id}, ${mode})`,
          async (m) => {
            const version = (await m.get(id))?.version ?? 1;
            return mode === 'any' ? undefined : mode === 'current' ? version : version + 1;
          },
          (s, version) => s.delete(id, version),
        ),
    ),
    fc.tuple(at, limit).map(
      ([before, n]) => new StoreCommand(`listDue(${before - BASE_TIME}, ${n})`, noArgs, (s) => walk((cursor) => s.listDue(before, { limit: n, cursor }))),
    ),
    fc.tuple(at, limit).map(
      ([now, n]) =>
        new StoreCommand(`listExpiredLeases(${now - BASE_TIME}, ${n})`, noArgs, (s) => walk((cursor) => s.listExpiredLeases(now, { limit: n, cursor }))),
    ),
    fc.tuple(filter, limit).map(
      ([f, n]) => new StoreCommand(`list(${JSON.stringify(f)}, ${n})`, noArgs, (s) => walk((cursor) => s.list(f, { limit: n, cursor }))),
    ),
    filter.map((f) => new StoreCommand(`count(${JSON.stringify(f)})`, noArgs, (s) => s.count(f))),
    fc.constantFrom(...STATE_HASHES, 'h-none').map(
      (hash) => new StoreCommand(`findByStateHash(${hash})`, noArgs, async (s) => toPlainGrant(await s.findByStateHash(hash))),
    ),
    fc.tuple(fc.constantFrom('c1', 'c2', 'ç'), text, fc.dictionary(fc.constantFrom('a', 'b'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }), at).map(
      ([id, secretText, providerOptions, when]) => {
        const record: ClientRecord = {
          id,
          provider: 'oauth2',
          providerOptions,
          clientId: `key-${id}`,
          clientSecret: new Secret(secretText),
          redirectUri: 'https://app.example/cb',
          createdAt: when,
          updatedAt: when,
        };
        return new StoreCommand(`putClient(${id})`, noArgs, (s) => s.putClient(record));
      },
    ),
    fc.constantFrom('c1', 'c2', 'ç', 'none').map((id) => new StoreCommand(`getClient(${id})`, noArgs, async (s) => toPlainClient(await s.getClient(id)))),
    fc.constantFrom('c1', 'c2', 'ç').map((id) => new StoreCommand(`deleteClient(${id})`, noArgs, (s) => s.deleteClient(id))),
    fc.constant(new StoreCommand('listClients()', noArgs, async (s) => (await s.listClients()).map((c) => toPlainClient(c)))),
  ];
}

export interface ModelRunOptions {
  /** How many random command sequences to run. */
  readonly numRuns: number;
  /** The longest sequence. Default 40. */
  readonly maxCommands?: number;
  /** Replays a failure: the seed fast-check printed. */
  readonly seed?: number;
}

/**
 * Runs `numRuns` random command sequences (create, get, compare-and-set with right and wrong versions,
 * delete, every listing walked page by page, state-hash lookups, clients), each on a fresh harness
 * from `factory` and on a fresh memory store, and fails on the first answer that differs.
 *
 * @example
 * it('agrees with the memory store', () => runGrantStoreModel(factory, { numRuns: 100 }), 120_000);
 */
export async function runGrantStoreModel(factory: StoreHarnessFactory, options: ModelRunOptions): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.commands(commandArbitraries(), { maxCommands: options.maxCommands ?? 40, size: 'max' }), async (commands) => {
      const harness = await factory();
      try {
        await fc.asyncModelRun(async () => ({ model: { store: memoryStore() }, real: { store: harness.store } }), commands);
      } finally {
        await harness.dispose();
      }
    }),
    { numRuns: options.numRuns, ...(options.seed === undefined ? {} : { seed: options.seed }) },
  );
}
