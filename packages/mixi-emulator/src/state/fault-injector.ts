import { EmulatorError } from '../emulator-error';
import type { TokenGrantType } from './counters';

/** Which part of the platform a fault rule aims at. The control API itself is never faulted. */
export type FaultEndpoint = 'token' | 'api' | 'authorize' | 'dashboard';

/** A canned answer a fault rule sends instead of (or after) the real one. */
export interface FaultResponse {
  /** HTTP status, 200–599 (e.g. 503 for mixi's rate limiting). */
  readonly status: number;
  /** A string is sent as text/plain; anything else as JSON. Default: no body. */
  readonly body?: unknown;
  /** Extra headers, e.g. `{ "Retry-After": "2" }`. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * A fault rule: what to match and what to do. At most one of `respond`, `drop` and `loseAnswer`;
 * `delayMs` alone just slows the real answer down; `delayMs` with an action waits first.
 */
export interface FaultRuleInput {
  readonly endpoint: FaultEndpoint;
  /** Token endpoint only: match this `grant_type`. */
  readonly grantType?: TokenGrantType;
  /** Match this request path exactly, or a prefix when it ends in `*` (`/2/people/*`). */
  readonly path?: string;
  /** Match this HTTP method (`GET`, `POST`). */
  readonly method?: string;
  /** Apply to the next N matching requests, then retire. Default: until cleared. */
  readonly times?: number;
  /** Wait this long (real time, not the virtual clock) before acting, ms. */
  readonly delayMs?: number;
  /** Answer this instead of processing the request (nothing changes on the server). */
  readonly respond?: FaultResponse;
  /** Destroy the connection without an answer (nothing changes on the server). */
  readonly drop?: boolean;
  /**
   * Process the request (a refresh rotates the token), then lose the answer: `true` drops the
   * connection, a {@link FaultResponse} answers that instead (e.g. `{ status: 500 }`).
   */
  readonly loseAnswer?: true | FaultResponse;
}

/** A rule as stored: its id, how many more times it applies (`null`: until cleared), hits so far. */
export interface FaultRule extends FaultRuleInput {
  readonly id: string;
  readonly remaining: number | null;
  readonly hits: number;
}

/** What a request looks like to the matcher. */
export interface FaultTarget {
  readonly endpoint: FaultEndpoint;
  readonly path: string;
  readonly method: string;
  readonly grantType?: string | undefined;
}

interface StoredRule {
  readonly input: FaultRuleInput;
  readonly id: string;
  remaining: number | null;
  hits: number;
}

const ENDPOINTS: readonly FaultEndpoint[] = ['token', 'api', 'authorize', 'dashboard'];
const GRANT_TYPES: readonly TokenGrantType[] = ['authorization_code', 'refresh_token', 'server_state'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Fault rules, matched in the order they were added; the first match acts. With no rules the check
 * is one empty-array test, so the hot path pays nothing.
 */
export class FaultInjector {
  #rules: StoredRule[] = [];
  #seq = 0;

  /** Adds a rule (validated: a bad one is an `invalid_input` error naming the field) and returns it. */
  add(input: FaultRuleInput): FaultRule {
    const clean = validateFaultRule(input);
    const stored: StoredRule = { input: clean, id: `fault-${++this.#seq}`, remaining: clean.times ?? null, hits: 0 };
    this.#rules.push(stored);
    return view(stored);
  }

  /** Removes one rule; false when there was none with this id. */
  remove(id: string): boolean {
    const before = this.#rules.length;
    this.#rules = this.#rules.filter((r) => r.id !== id);
    return this.#rules.length !== before;
  }

  /** Removes every rule. */
  clear(): void {
    this.#rules = [];
  }

  /** The active rules, in matching order. */
  list(): FaultRule[] {
    return this.#rules.map(view);
  }

  /** The rule that acts on this request, if any; using it counts against its `times`. */
  take(target: FaultTarget): FaultRule | undefined {
    if (this.#rules.length === 0) return undefined;
    const index = this.#rules.findIndex((r) => matches(r.input, target));
    const rule = this.#rules[index];
    if (!rule) return undefined;
    rule.hits++;
    if (rule.remaining !== null && --rule.remaining <= 0) this.#rules.splice(index, 1);
    return view(rule);
  }
}

function matches(rule: FaultRuleInput, target: FaultTarget): boolean {
  if (rule.endpoint !== target.endpoint) return false;
  if (rule.grantType !== undefined && rule.grantType !== target.grantType) return false;
  if (rule.method !== undefined && rule.method.toUpperCase() !== target.method) return false;
  if (rule.path !== undefined) {
    if (rule.path.endsWith('*') ? !target.path.startsWith(rule.path.slice(0, -1)) : rule.path !== target.path) return false;
  }
  return true;
}

function view(rule: StoredRule): FaultRule {
  return { ...rule.input, id: rule.id, remaining: rule.remaining, hits: rule.hits };
}

/**
 * Checks a rule field by field (it may come from JSON over HTTP, so nothing about its shape is
 * trusted) and returns a clean copy with only the known fields.
 */
export function validateFaultRule(input: unknown): FaultRuleInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new EmulatorError('invalid_input', 'a fault rule must be an object', { field: 'rule' });
  }
  const raw = input as Record<string, unknown>;
  const known = new Set(['endpoint', 'grantType', 'path', 'method', 'times', 'delayMs', 'respond', 'drop', 'loseAnswer']);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) throw new EmulatorError('invalid_input', `unknown fault rule field ${key.slice(0, 40)}`, { field: key.slice(0, 40) });
  }
  const endpoint = raw.endpoint;
  if (!ENDPOINTS.includes(endpoint as FaultEndpoint)) {
    throw new EmulatorError('invalid_input', `endpoint must be one of ${ENDPOINTS.join(', ')}`, { field: 'endpoint' });
  }
  const rule: { -readonly [K in keyof FaultRuleInput]: FaultRuleInput[K] } = { endpoint: endpoint as FaultEndpoint };
  if (raw.grantType !== undefined) {
    if (endpoint !== 'token') throw new EmulatorError('invalid_input', 'grantType applies to the token endpoint only', { field: 'grantType' });
    if (!GRANT_TYPES.includes(raw.grantType as TokenGrantType)) {
      throw new EmulatorError('invalid_input', `grantType must be one of ${GRANT_TYPES.join(', ')}`, { field: 'grantType' });
    }
    rule.grantType = raw.grantType as TokenGrantType;
  }
  if (raw.path !== undefined) {
    if (typeof raw.path !== 'string' || !raw.path.startsWith('/') || raw.path.length > 500) {
      throw new EmulatorError('invalid_input', 'path must be a string starting with /', { field: 'path' });
    }
    rule.path = raw.path;
  }
  if (raw.method !== undefined) {
    if (typeof raw.method !== 'string' || !/^[A-Za-z]{1,10}$/.test(raw.method)) {
      throw new EmulatorError('invalid_input', 'method must be an HTTP method name', { field: 'method' });
    }
    rule.method = raw.method.toUpperCase();
  }
  if (raw.times !== undefined) {
    if (!Number.isSafeInteger(raw.times) || (raw.times as number) < 1) {
      throw new EmulatorError('invalid_input', 'times must be a positive integer', { field: 'times' });
    }
    rule.times = raw.times as number;
  }
  if (raw.delayMs !== undefined) {
    if (!Number.isSafeInteger(raw.delayMs) || (raw.delayMs as number) < 0 || (raw.delayMs as number) > 600_000) {
      throw new EmulatorError('invalid_input', 'delayMs must be an integer between 0 and 600000', { field: 'delayMs' });
    }
    rule.delayMs = raw.delayMs as number;
  }
  let actions = 0;
  if (raw.respond !== undefined) {
    rule.respond = validateFaultResponse(raw.respond, 'respond');
    actions++;
  }
  if (raw.drop !== undefined) {
    if (raw.drop !== true) throw new EmulatorError('invalid_input', 'drop must be true when present', { field: 'drop' });
    rule.drop = true;
    actions++;
  }
  if (raw.loseAnswer !== undefined) {
    rule.loseAnswer = raw.loseAnswer === true ? true : validateFaultResponse(raw.loseAnswer, 'loseAnswer');
    actions++;
  }
  if (actions > 1) throw new EmulatorError('invalid_input', 'use at most one of respond, drop and loseAnswer', { field: 'respond' });
  if (actions === 0 && rule.delayMs === undefined) {
    throw new EmulatorError('invalid_input', 'a fault rule needs delayMs, respond, drop or loseAnswer', { field: 'respond' });
  }
  return rule;
}

function validateFaultResponse(value: unknown, field: string): FaultResponse {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EmulatorError('invalid_input', `${field} must be an object with a status`, { field });
  }
  const raw = value as Record<string, unknown>;
  if (!Number.isSafeInteger(raw.status) || (raw.status as number) < 200 || (raw.status as number) > 599) {
    throw new EmulatorError('invalid_input', `${field}.status must be an integer between 200 and 599`, { field: `${field}.status` });
  }
  const response: { status: number; body?: unknown; headers?: Record<string, string> } = { status: raw.status as number };
  if (raw.body !== undefined) response.body = raw.body;
  if (raw.headers !== undefined) {
    if (typeof raw.headers !== 'object' || raw.headers === null || Array.isArray(raw.headers)) {
      throw new EmulatorError('invalid_input', `${field}.headers must be an object of strings`, { field: `${field}.headers` });
    }
    const headers: Record<string, string> = {};
    for (const [name, v] of Object.entries(raw.headers)) {
      if (!HEADER_NAME.test(name) || typeof v !== 'string' || /[\r\n\0]/.test(v)) {
        throw new EmulatorError('invalid_input', `${field}.headers must map header names to single-line strings`, { field: `${field}.headers` });
      }
      headers[name] = v;
    }
    response.headers = headers;
  }
  return response;
}
