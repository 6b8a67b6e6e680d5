const REDACTED = '[redacted]';
const MAX_TEXT = 200;

/** Keys whose values are secrets wherever they appear in an answer. */
export const SECRET_KEYS: readonly string[] = Object.freeze([
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'client_secret',
  'server_state',
  'state',
  'password',
]);

const SECRET_KEY_SET = new Set(SECRET_KEYS);

// `key=value`, `key: value`, `"key":"value"`, `'key': 'value'` for the secret keys, in any case. The `\b`
// before the key keeps `error_code` or `auth_state` from matching; the value runs to the closing quote,
// or without quotes to a separator. An unclosed quote (a truncated body) runs to the end.
const SECRET_PAIR = new RegExp(
  String.raw`(\b(?:${SECRET_KEYS.join('|')})\b["']?\s*[:=]\s*)("(?:[^"\\]|\\.)*"?|'[^']*'?|[^\s&"',;<>{}\[\]]*)`,
  'gi',
);

function redactValue(value: unknown): unknown {
  // Free-text values (an `error_description`) may quote a pair themselves.
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // defineProperty, not assignment: a `__proto__` key must stay a plain key.
      Object.defineProperty(out, k, {
        value: SECRET_KEY_SET.has(k.toLowerCase()) ? REDACTED : redactValue(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/**
 * Text redaction for free-form strings (non-JSON bodies, provider descriptions): every `key=value` or
 * `"key":"value"` for a {@link SECRET_KEYS} key has its value replaced by `[redacted]`.
 *
 * @example
 * redactText('error&refresh_token=39c5662a&x=1') // 'error&refresh_token=[redacted]&x=1'
 */
export function redactText(text: string): string {
  return text.replace(SECRET_PAIR, `$1${REDACTED}`);
}

/**
 * A copy of a response body that is safe to keep for diagnosis (as an error's `cause`, in a log).
 *
 * JSON is parsed and the value of every {@link SECRET_KEYS} key, at any depth, becomes `"[redacted]"`;
 * other string values get the text treatment below (without the cut).
 * Anything else is cut to its first 200 characters after each `key=value` / `"key":"value"` pair for
 * those keys has had its value replaced. Redaction happens before the cut, so a pair straddling the
 * 200th character is still redacted.
 *
 * @example
 * redactBody('{"access_token":"c2be2257","expires_in":900}') // '{"access_token":"[redacted]","expires_in":900}'
 * redactBody('<html>oops</html>')                             // '<html>oops</html>'
 */
export function redactBody(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return redactText(text).slice(0, MAX_TEXT);
  }
  return JSON.stringify(redactValue(parsed));
}
