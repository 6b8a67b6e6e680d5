import { OAuthError } from '../errors/errors';
import { redactBody, redactText } from './redact-body';

const MAX_DESCRIPTION = 500;

/**
 * True for statuses that say "try again later" rather than "no": 5xx, 429, 408. mixi answers its rate
 * limit with 503, not 429.
 *
 * @example
 * isTransientStatus(503) // true
 * isTransientStatus(400) // false
 */
export function isTransientStatus(status: number): boolean {
  return (status >= 500 && status <= 599) || status === 429 || status === 408;
}

/**
 * Reads an OAuth error answer (RFC 6749 §5.2): a JSON object whose `error` is a non-empty string.
 * `error` is kept verbatim (unknown codes included); `error_description`, being free text, is
 * redacted of anything that looks like a secret pair and cut to 500 characters.
 *
 * A `401` whose JSON object has no `error` at all becomes `invalid_grant`: that is how mixi answers an
 * expired refresh token ("Expired refresh token would never work"), and the live service was seen doing
 * the same for an expired or unknown code. Both mean exactly what RFC 6749 calls `invalid_grant`: the
 * grant is dead, the user must authorize again.
 *
 * Returns `undefined` for anything else (not JSON, not an object, a non-string `error`).
 *
 * @example
 * parseOAuthErrorBody(400, '{"error":"invalid_client"}')?.error // 'invalid_client'
 * parseOAuthErrorBody(401, '{}')?.error                         // 'invalid_grant'
 * parseOAuthErrorBody(500, '<html>…</html>')                    // undefined
 */
export function parseOAuthErrorBody(status: number, text: string): OAuthError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const body = parsed as Record<string, unknown>;
  const rawDescription = body.error_description;
  const description =
    typeof rawDescription === 'string' && rawDescription.length > 0
      ? redactText(rawDescription).slice(0, MAX_DESCRIPTION)
      : undefined;
  const options = { cause: redactBody(text) };
  if (typeof body.error === 'string' && body.error.length > 0) {
    return new OAuthError(body.error, status, description, options);
  }
  if (status === 401 && !('error' in body)) return new OAuthError('invalid_grant', status, description, options);
  return undefined;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = String.raw`(\d{2}):(\d{2}):(\d{2})`;
// RFC 7231 §7.1.1.1: IMF-fixdate, then the obsolete RFC 850 and asctime forms it says to accept.
const IMF_FIXDATE = new RegExp(String.raw`^[a-z]{3}, (\d{2}) ${MONTH} (\d{4}) ${TIME} GMT$`, 'i');
const RFC850_DATE = new RegExp(String.raw`^[a-z]{6,9}, (\d{2})-${MONTH}-(\d{2}) ${TIME} GMT$`, 'i');
const ASCTIME_DATE = new RegExp(String.raw`^[a-z]{3} ${MONTH} ( \d|\d{2}) ${TIME} (\d{4})$`, 'i');

function utc(year: number, month: string, day: number, h: number, m: number, s: number): number | undefined {
  const mi = MONTHS.indexOf(month.toLowerCase());
  if (h > 23 || m > 59 || s > 60) return undefined;
  const t = Date.UTC(year, mi, day, h, m, Math.min(s, 59));
  // Date.UTC rolls 31 Feb over into March; a date that does not exist is not a date.
  return new Date(t).getUTCDate() === day ? t : undefined;
}

/** An HTTP-date (RFC 7231 §7.1.1.1) as epoch ms, or undefined. */
function parseHttpDate(value: string): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m) return utc(Number(m[3]), m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC850_DATE.exec(value);
  if (m) {
    const yy = Number(m[3]);
    return utc(yy < 70 ? 2000 + yy : 1900 + yy, m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME_DATE.exec(value);
  if (m) return utc(Number(m[6]), m[1]!, Number(m[2]!.trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return undefined;
}

/**
 * When a `Retry-After` header (RFC 7231 §7.1.3) says to come back, as epoch ms: `now` plus the seconds,
 * or the HTTP-date. A date already past gives `now`. Returns `undefined` for an absent or unreadable value.
 *
 * @example
 * parseRetryAfter('120', 1_700_000_000_000)                           // 1_700_000_120_000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 27)) // Date.UTC(2015, 9, 21, 7, 28)
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const at = now + Number(v) * 1000;
    return Number.isFinite(at) && at <= Number.MAX_SAFE_INTEGER ? at : undefined;
  }
  const date = parseHttpDate(v);
  return date === undefined ? undefined : Math.max(now, date);
}
