import type { GrantRecord } from '../../src/store/grant-store';
import type { WriteEntry } from './observed-store';
import { type InvariantName, INVARIANTS, SIM } from './sim-config';
import type { Op, SimWorld, VaultSlot } from './sim-world';

/**
 * The seven invariants of issue 6, each a function of what the world recorded: the provider's log (the
 * truth about tokens), the store's write log, the calls and what they handed out. Each returns the
 * violations it finds, as sentences naming tokens, vaults and world times (ms since the start).
 */

export type Violations = Record<InvariantName, string[]>;

export function noViolations(): Violations {
  return Object.fromEntries(INVARIANTS.map((name) => [name, []])) as unknown as Violations;
}

/** What the world looked like when every live call had settled, before the recovery sweep. */
export interface Quiescence {
  readonly order: number;
  readonly at: number;
  /** Vault names (incarnations) that had not crashed. */
  readonly alive: ReadonlySet<string>;
  readonly shadow: ReadonlyMap<string, GrantRecord>;
  readonly livelock: string | null;
}

const rel = (t: number) => `${t - SIM.t0}ms`;
const reveal = (s: { reveal(): string } | null | undefined) => (s ? s.reveal() : null);

function slotNamed(w: SimWorld, name: string): VaultSlot | undefined {
  return w.allSlots.find((s) => s.name === name);
}

function lastDeleteOrder(w: SimWorld, grantId: string, before = Number.POSITIVE_INFINITY): number {
  let order = 0;
  for (const x of w.observed.writes) if (x.grantId === grantId && x.op === 'delete' && x.order < before) order = x.order;
  return order;
}

// ──────────────────────────────────────────────────────────── 1

/**
 * Refresh exactly once:
 * - every refresh token presented to the provider is presented by a vault that holds a live lease on
 *   the grant at that moment (by its own clock), unless the grant is gone;
 * - a refresh token already rotated away is presented again only when the client could not know
 *   better: the rotating answer never reached a live vault (lost, timed out, or its receiver crashed),
 *   or the rotating vault's lease ran out (by its own clock) while it was still alive and the
 *   presenter took the lease over after that and before anyone stored the successor.
 * The second half of the issue's sentence ("and then the grant still ends correct") is checked by
 * {@link inv5End}.
 */
export function inv1(w: SimWorld): string[] {
  const out: string[] = [];
  const p = w.provider;
  const offset = (vault: string) => slotNamed(w, vault)?.spec.offsetMs ?? 0;
  /** The grant's record just before global order `order`, and the write that made it. */
  const recordBefore = (grantId: string, order: number) => w.observed.writes.findLast((x) => x.grantId === grantId && x.order < order);
  for (const pr of p.presentations) {
    const rt = p.refreshTokens.get(pr.refreshToken);
    if (!rt) continue;
    const at = recordBefore(rt.grantId, pr.order);
    const lease = at?.after?.state === 'refreshing' ? at.after.lease : null;
    if (at?.after === undefined) continue; // the grant was forgotten: nothing left to protect
    // Forgotten under the presenter's lease, and created again since (a new authorization): the token
    // belongs to the grant's previous life, which is gone; the new one has a chain of its own.
    const ownLease = w.observed.writes.findLast((x) => x.grantId === rt.grantId && x.order < pr.order && x.after?.state === 'refreshing' && x.after.lease?.owner === pr.vault);
    if (ownLease && lastDeleteOrder(w, rt.grantId, pr.order) > ownLease.order) continue;
    if (lease?.owner !== pr.vault) {
      out.push(`${pr.vault} presented ${rt.value} at ${rel(pr.at)} without holding the lease (${lease ? `held by ${lease.owner}` : `grant ${at.after.state}`})`);
      continue;
    }
    if (pr.at >= lease.until - offset(pr.vault)) {
      out.push(`${pr.vault} presented ${rt.value} at ${rel(pr.at)}, after its own lease ran out at ${rel(lease.until - offset(pr.vault))}`);
      continue;
    }
    if (pr.outcome !== 'reuse') continue;
    const rotation = p.presentations.find((q) => q.refreshToken === pr.refreshToken && q.outcome === 'rotated');
    if (!rotation || rt.successor === null) continue;
    const what = `${pr.vault} presented ${rt.value} at ${rel(pr.at)} although ${rotation.vault} had rotated it to ${rt.successor} at ${rel(rotation.at)}`;
    if (p.exchange(rotation.exchangeId).delivery !== 'delivered') continue; // the answer was lost: nobody could know
    const receiver = slotNamed(w, rotation.vault);
    if (receiver?.crashOrder != null && receiver.crashOrder < pr.order) continue; // died holding it
    const grantWrites = w.observed.writesOf(rt.grantId);
    const rotatorLease = grantWrites.findLast((x) => x.order < rotation.order && x.after?.state === 'refreshing' && x.after.lease?.owner === rotation.vault);
    const presenterLease = grantWrites.findLast((x) => x.order < pr.order && x.after?.state === 'refreshing' && x.after.lease?.owner === pr.vault);
    if (!rotatorLease || !presenterLease) continue; // reported above as a presentation without a lease
    const stored = grantWrites.find((x) => x.order < presenterLease.order && reveal(x.after?.refreshToken) === rt.successor);
    if (stored) {
      out.push(`${what}; ${stored.vault} had stored ${rt.successor} at ${rel(stored.at)}, before ${pr.vault} took the lease`);
      continue;
    }
    const rotatorDeadline = (rotatorLease.after?.lease?.until ?? 0) - offset(rotation.vault);
    if (presenterLease.order > rotatorLease.order && presenterLease.at < rotatorDeadline) {
      out.push(`${what}; ${pr.vault} took the lease at ${rel(presenterLease.at)}, while ${rotation.vault}'s lease ran until ${rel(rotatorDeadline)} by its own clock`);
    }
  }
  return out;
}

// ──────────────────────────────────────────────────────────── 2

/** No caller is handed an access token that the provider already considers expired (or never issued). */
export function inv2(w: SimWorld): string[] {
  const out: string[] = [];
  for (const h of w.handouts) {
    const at = w.provider.accessTokens.get(h.token);
    if (!at) {
      out.push(`${h.vault} #${h.opId} handed out "${h.token}", which the provider never issued (${h.via})`);
    } else if (h.at >= at.expiresAt) {
      out.push(`${h.vault} #${h.opId} handed out ${h.token} at ${rel(h.at)}, ${h.at - at.expiresAt}ms after it expired at the provider (${h.via}, ${h.cache ? 'cache on' : 'cache off'})`);
    }
  }
  return out;
}

// ──────────────────────────────────────────────────────────── 3

/**
 * Tokens never go backwards: a handed-out token was persisted before it was handed out; a vault
 * without the in-process cache never hands out a token older than the one stored when the call
 * began; the store itself never replaces an access token by an older one.
 */
export function inv3(w: SimWorld): string[] {
  const out: string[] = [];
  // Newer means: from a later authorization, then issued later within it.
  const rank = (token: string | null) => w.tokenRank(token);
  for (const h of w.handouts) {
    const persisted = w.observed.writes.some((x) => x.grantId === h.grantId && x.order < h.order && reveal(x.after?.accessToken) === h.token);
    if (!persisted) out.push(`${h.vault} #${h.opId} handed out ${h.token} at ${rel(h.at)} before it was stored`);
    if (!h.cache && rank(h.token) < h.floorRank) {
      out.push(`${h.vault} #${h.opId} handed out ${h.token} though a newer token was stored when the call began`);
    }
  }
  for (const x of w.observed.writes) {
    const before = reveal(x.before?.accessToken);
    const after = reveal(x.after?.accessToken);
    if (before !== null && after !== null && rank(after) < rank(before)) {
      out.push(`${x.vault} replaced ${before} by the older ${after} in the store at ${rel(x.at)}`);
    }
  }
  return out;
}

// ──────────────────────────────────────────────────────────── 4

/**
 * A grant goes to reauthRequired only when the provider really refused its current refresh token
 * (dead there: rotated away, revoked, unknown), or an API refused an access token that really was
 * revoked. Never after a transient fault or a lost race.
 */
export function inv4(w: SimWorld): string[] {
  const out: string[] = [];
  const p = w.provider;
  for (const x of w.observed.writes) {
    if (x.after?.state !== 'reauthRequired' || x.before?.state === 'reauthRequired') continue;
    const reason = x.after.reauthReason;
    const rt = reveal(x.before?.refreshToken);
    const at = reveal(x.before?.accessToken);
    const what = `${x.vault} moved ${x.grantId} to reauthRequired (${reason}) at ${rel(x.at)}`;
    if (reason === 'refresh_token_rejected') {
      if (rt === null) out.push(`${what}, but the grant had no refresh token`);
      else if (p.wasRefreshTokenAliveAt(rt, x.order)) out.push(`${what}, but its refresh token ${rt} was still valid at the provider`);
    } else if (reason === 'token_revoked') {
      if (at === null || !p.wasAccessTokenRevokedAt(at, x.order)) out.push(`${what}, but its access token ${at} was not revoked at the provider`);
    } else {
      out.push(`${what}: the provider always issues refresh tokens, the engine lost it`);
    }
  }
  return out;
}

// ──────────────────────────────────────────────────────────── 5

/**
 * At quiescence, the newest refresh token (newest authorization first — the later consent, see
 * `Chain.serial` — then newest in its chain) that the provider issued and a vault that is still alive
 * received, or that was ever stored, is the one the store holds, unless it is dead at the provider
 * anyway. Tokens of an authorization consented to before the grant's last `forget` do not count.
 */
export function inv5(w: SimWorld, q: Quiescence): string[] {
  const out: string[] = [];
  const p = w.provider;
  for (const grantId of w.grantIds) {
    const forgotten = lastDeleteOrder(w, grantId, q.order);
    let best: { value: string; chain: number; serial: number; how: string } | undefined;
    for (const rt of p.refreshTokens.values()) {
      if (rt.grantId !== grantId) continue;
      // A forgotten grant's tokens are abandoned on purpose: only authorizations the user consented to
      // after the forget count (a chain's createdOrder is its consent), whenever their code was exchanged.
      if ((p.chains.get(rt.chainId)?.createdOrder ?? 0) < forgotten) continue;
      const ex = p.exchange(rt.exchangeId);
      const received = ex.delivery === 'delivered' && ex.sentOrder > forgotten && (ex.deliveredOrder ?? 0) < q.order && q.alive.has(ex.vault);
      const stored = w.observed.writes.find((x) => x.order > forgotten && x.order < q.order && x.grantId === grantId && reveal(x.after?.refreshToken) === rt.value);
      if (!received && !stored) continue;
      const chain = p.chains.get(rt.chainId)?.serial ?? 0;
      if (!best || chain > best.chain || (chain === best.chain && rt.serial > best.serial)) {
        best = { value: rt.value, chain, serial: rt.serial, how: received ? `received by ${ex.vault} at ${rel(ex.deliveredAt ?? 0)}` : `stored by ${stored?.vault}` };
      }
    }
    if (!best || !p.isRefreshTokenAlive(best.value)) continue;
    const record = q.shadow.get(grantId);
    const held = reveal(record?.refreshToken);
    if (held !== best.value) {
      out.push(`${grantId}: the newest refresh token ${best.value} (${best.how}) still works at the provider, but the store holds ${held ?? 'none'} (${record?.state ?? 'no record'})`);
    }
  }
  return out;
}

/**
 * The second half of invariant 5 (and the "grant still ends correct" of invariant 1), checked after the
 * recovery sweep: a grant that ends authorized holds a refresh token the provider still accepts.
 */
export function inv5End(w: SimWorld): string[] {
  const out: string[] = [];
  const p = w.provider;
  for (const [grantId, record] of w.observed.shadow) {
    if (record.state !== 'authorized') continue;
    const rt = reveal(record.refreshToken);
    if (rt === null || !p.isRefreshTokenAlive(rt)) {
      out.push(`${grantId} ends authorized after the recovery sweep with refresh token ${rt ?? 'none'}, which the provider no longer accepts`);
    }
  }
  return out;
}

// ──────────────────────────────────────────────────────────── 6

const settledWithinBound = (op: Op) => op.endNatural === null || op.endNatural - op.startNatural <= SIM.maxCallNaturalMs;

/**
 * Every call on a live vault settles (no deadlock, no livelock), within bounded virtual time, with a
 * value or a coded tokenvault error other than `conflict` (a call that gives up because a grant is
 * stuck); after the recovery sweep no grant is left in `refreshing`.
 */
export function inv6(w: SimWorld, q: Quiescence): string[] {
  const out: string[] = [];
  if (q.livelock) out.push(`livelock: ${q.livelock}`);
  for (const op of w.ops) {
    const crashed = op.slot.crashOrder !== null;
    if (op.status === 'pending' && !crashed) out.push(`${op.vault} #${op.id} ${op.kind}(${op.grantId ?? ''}) never settled (started at ${rel(op.startAt)})`);
    if (!settledWithinBound(op)) out.push(`${op.vault} #${op.id} ${op.kind} took ${(op.endNatural ?? 0) - op.startNatural}ms of waiting`);
    if (op.status === 'error' && op.error?.code === undefined) {
      out.push(`${op.vault} #${op.id} ${op.kind}(${op.grantId ?? ''}) failed with an uncoded ${op.error?.name}: ${op.error?.message}`);
    }
    if (op.status === 'error' && op.error?.code === 'conflict') {
      out.push(`${op.vault} #${op.id} ${op.kind}(${op.grantId ?? ''}) gave up at ${rel(op.endAt ?? 0)}: ${op.error.message}`);
    }
  }
  for (const [grantId, record] of w.observed.shadow) {
    if (record.state === 'refreshing') out.push(`${grantId} is still refreshing (lease of ${record.lease?.owner} until ${rel(record.lease?.until ?? 0)}) after the recovery sweep at ${rel(w.now)}`);
  }
  return out;
}

// ──────────────────────────────────────────────────────────── 7

/**
 * A failed store write or a malformed answer changes nothing: tokens enter the store only from a
 * well-formed answer delivered to the vault that stores them, exactly as the provider gave them (expiry
 * included); no garbage from a malformed answer is ever stored or handed out; and a vault announces
 * (events) only transitions that were really persisted.
 */
export function inv7(w: SimWorld): string[] {
  const out: string[] = [];
  const p = w.provider;
  const offset = (vault: string) => slotNamed(w, vault)?.spec.offsetMs ?? 0;
  const checkToken = (x: WriteEntry, token: string | null, kind: 'access' | 'refresh') => {
    if (token === null) return;
    if (p.garbage.has(token)) {
      out.push(`${x.vault} stored ${token} from a malformed answer at ${rel(x.at)}`);
      return;
    }
    const info = kind === 'access' ? p.accessTokens.get(token) : p.refreshTokens.get(token);
    if (!info) {
      out.push(`${x.vault} stored an unknown ${kind} token at ${rel(x.at)}`);
      return;
    }
    const ex = p.exchange(info.exchangeId);
    if (x.vault !== 'seed' && (ex.vault !== x.vault || ex.delivery !== 'delivered' || !ex.wellFormed || (ex.deliveredOrder ?? 0) > x.order)) {
      out.push(`${x.vault} stored ${kind} token ${token} at ${rel(x.at)} without having received it in a well-formed answer`);
    }
  };
  for (const x of w.observed.writes) {
    if (!x.after) continue;
    const at = reveal(x.after.accessToken);
    const rt = reveal(x.after.refreshToken);
    if (at !== reveal(x.before?.accessToken)) {
      checkToken(x, at, 'access');
      const info = at === null ? undefined : p.accessTokens.get(at);
      const ex = info && p.exchange(info.exchangeId);
      if (info && ex && x.vault !== 'seed' && ex.deliveredAt !== null) {
        const expected = ex.deliveredAt + offset(x.vault) + info.expiresInS * 1000;
        if (x.after.accessTokenExpiresAt !== expected) {
          out.push(`${x.vault} stored ${at} expiring at ${x.after.accessTokenExpiresAt === null ? 'null' : rel(x.after.accessTokenExpiresAt)}, not ${rel(expected)} as the answer said`);
        }
      }
    }
    if (rt !== reveal(x.before?.refreshToken)) checkToken(x, rt, 'refresh');
  }
  for (const h of w.handouts) if (p.garbage.has(h.token)) out.push(`${h.vault} handed out ${h.token} from a malformed answer`);
  for (const e of w.events) {
    if (e.name !== 'transition') continue;
    const persisted = w.observed.writes.some((x) => x.vault === e.vault && x.grantId === e.grantId && x.after?.version === e.version && x.after?.state === e.to && x.order < e.order);
    if (!persisted) out.push(`${e.vault} announced ${e.grantId} → ${e.to} (version ${e.version}), which it never stored`);
  }
  return out;
}
