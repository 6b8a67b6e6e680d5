import { InvalidResponseError, ProviderUnavailableError } from '../errors/errors';
import { isTransientStatus, parseOAuthErrorBody, parseRetryAfter } from './error-answer';
import { redactBody } from './redact-body';
import type { HttpResponse } from './types';

/*
 * What every token endpoint answer goes through before its fields are read, and the labelled field
 * checks. Messages say which answer ("token answer …") and name fields, never values.
 */

/** Which answer is being read: `token` or `server_state`. Messages say "token answer …". */
export type AnswerKind = 'token' | 'server_state';

/** A JSON object answer, fields not yet checked. */
export type JsonObject = Readonly<Record<string, unknown>>;

function describeNonJson(res: HttpResponse): string {
  if (res.body.trim().length === 0) return 'is empty';
  const type = res.headers.get('content-type');
  return type ? `is not JSON (content-type "${type.slice(0, 100)}")` : 'is not JSON';
}

/**
 * Turns an answer into its JSON object or the typed error it stands for:
 * - a transient status (5xx, 429, 408) → `ProviderUnavailableError` with `retryAt` from `Retry-After`;
 * - another non-2xx with an OAuth error body → `OAuthError`;
 * - another non-2xx → `InvalidResponseError`, with the redacted body as `cause`;
 * - a 2xx that is not a JSON object → `InvalidResponseError`. Its body is not kept at all: a success
 *   answer is where tokens live, and redaction is only reliable for JSON;
 * - a 2xx JSON object with a string `error` and no `primaryField` → `OAuthError` (some servers answer
 *   errors with 200).
 */
export function readJsonAnswer(res: HttpResponse, kind: AnswerKind, primaryField: string, now: number): JsonObject {
  const { status } = res;
  const what = `${kind} answer`;
  if (status < 200 || status > 299) {
    if (isTransientStatus(status)) {
      const retryAt = parseRetryAfter(res.headers.get('retry-after'), now);
      throw new ProviderUnavailableError(
        `the provider answered the ${kind} request with ${status}`,
        retryAt === undefined ? { status } : { status, retryAt },
        { cause: redactBody(res.body) },
      );
    }
    const oauth = parseOAuthErrorBody(status, res.body);
    if (oauth) throw oauth;
    throw new InvalidResponseError(`${what} with status ${status} is not an OAuth error body`, status, {
      cause: redactBody(res.body),
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    throw new InvalidResponseError(`${what} ${describeNonJson(res)}`, status);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidResponseError(`${what} must be a JSON object`, status);
  }
  const body = parsed as JsonObject;
  if (body[primaryField] === undefined && typeof body.error === 'string') {
    const oauth = parseOAuthErrorBody(status, res.body);
    if (oauth) throw oauth;
  }
  return body;
}

function fail(kind: AnswerKind, status: number, message: string): never {
  throw new InvalidResponseError(`${kind} answer ${message}`, status);
}

/** A required non-empty string field. */
export function requiredString(body: JsonObject, field: string, kind: AnswerKind, status: number): string {
  const value = body[field];
  if (value === undefined || value === null) fail(kind, status, `has no "${field}"`);
  if (typeof value !== 'string' || value.length === 0) fail(kind, status, `"${field}" must be a non-empty string`);
  return value;
}

/** An optional string field: absent or `null` gives `undefined`; present, it must be a non-empty string. */
export function optionalString(
  body: JsonObject,
  field: string,
  kind: AnswerKind,
  status: number,
  allowEmpty = false,
): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0)) {
    fail(kind, status, `"${field}" must be a ${allowEmpty ? '' : 'non-empty '}string when present`);
  }
  return value;
}

const NUMERIC_STRING = /^\s*\d+(\.\d+)?\s*$/;

/**
 * `expires_in` as an absolute epoch-ms deadline: a positive finite number, or a string of one (some
 * servers send `"900"`). Absent or `null` gives `null`: the token's lifetime is unknown.
 */
export function expiresAtFrom(body: JsonObject, field: string, kind: AnswerKind, status: number, now: number): number | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  const seconds =
    typeof value === 'number' ? value : typeof value === 'string' && NUMERIC_STRING.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) fail(kind, status, `"${field}" must be a positive number`);
  const at = now + Math.round(seconds * 1000);
  if (!Number.isFinite(at) || at > Number.MAX_SAFE_INTEGER) fail(kind, status, `"${field}" is out of range`);
  return at;
}
