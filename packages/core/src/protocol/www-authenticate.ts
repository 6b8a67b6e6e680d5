/** One challenge of a `WWW-Authenticate` header (RFC 7235 §2.1). */
export interface Challenge {
  /** The auth-scheme as sent (`Bearer`, `OAuth`, `Basic`); compare it case-insensitively. */
  readonly scheme: string;
  /**
   * The auth-params, names lowercased, values unquoted. A null-prototype object, so a `__proto__` or
   * `constructor` parameter is just a parameter. On a duplicate name the first one wins.
   */
  readonly params: Readonly<Record<string, string>>;
  /** The token68 form (`Basic dXNlcg==`), when the challenge used it instead of auth-params. */
  readonly token68?: string;
}

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;
const TOKEN68_CHAR = /^[A-Za-z0-9\-._~+/]$/;

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** A cursor over the header; every method advances or reports, none throws. */
class Scanner {
  i = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.i >= this.s.length;
  }

  get char(): string | undefined {
    return this.s[this.i];
  }

  skipSpace(): void {
    while (isSpace(this.char)) this.i++;
  }

  /** At the end of the header or of a list element. */
  atBoundary(): boolean {
    return this.done || this.char === ',';
  }

  read(set: RegExp): string {
    const start = this.i;
    while (!this.done && set.test(this.char!)) this.i++;
    return this.s.slice(start, this.i);
  }

  /** A double-quoted string with backslash escapes; an unclosed one runs to the end. */
  quoted(): string {
    let out = '';
    this.i++;
    while (!this.done) {
      const c = this.char!;
      this.i++;
      if (c === '"') return out;
      if (c === '\\') {
        if (this.done) break;
        out += this.char;
        this.i++;
      } else {
        out += c;
      }
    }
    return out;
  }

  /**
   * A parameter value: a quoted-string, a single-quoted string (`OAuth error='expired_token'`, mixi's
   * older spec), or anything up to a comma or a space (liberal: `realm=https://x/` is common).
   */
  value(): string {
    if (this.char === '"') return this.quoted();
    if (this.char === "'") {
      const end = this.s.indexOf("'", this.i + 1);
      if (end !== -1) {
        const v = this.s.slice(this.i + 1, end);
        this.i = end + 1;
        return v;
      }
    }
    const start = this.i;
    while (!this.done && this.char !== ',' && !isSpace(this.char)) this.i++;
    return this.s.slice(start, this.i);
  }

  /** Skips one unreadable character and the rest of its list element (quoted strings included). */
  skipElement(): void {
    this.i++;
    while (!this.done && this.char !== ',') {
      if (this.char === '"') this.quoted();
      else this.i++;
    }
  }
}

/** After a scheme: a token68 if one stands alone before the next comma, else nothing is consumed. */
function token68(sc: Scanner): string | undefined {
  const start = sc.i;
  const body = sc.read(TOKEN68_CHAR);
  if (body.length > 0) {
    sc.read(/^=$/);
    const end = sc.i;
    sc.skipSpace();
    if (sc.atBoundary()) return sc.s.slice(start, end);
  }
  sc.i = start;
  return undefined;
}

/**
 * Parses a `WWW-Authenticate` value into its challenges (RFC 7235 §4.1), liberally: several challenges
 * in one value (as `Headers.get` joins repeated headers), quoted strings with backslash escapes and
 * commas inside, single-quoted values, unquoted values with `/` or `:`, empty list elements, missing
 * commas between parameters. It never throws: what cannot be read is skipped up to the next comma.
 *
 * @example
 * parseWwwAuthenticate('Bearer error="invalid_token", error_description="The access token expired"')
 * // [{ scheme: 'Bearer', params: { error: 'invalid_token', error_description: 'The access token expired' } }]
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  if (typeof header !== 'string') return [];
  const sc = new Scanner(header);
  const out: { scheme: string; params: Record<string, string>; token68?: string }[] = [];
  let current: (typeof out)[number] | undefined;
  while (!sc.done) {
    sc.skipSpace();
    if (sc.done) break;
    if (sc.char === ',') {
      sc.i++;
      continue;
    }
    const name = sc.read(TCHAR);
    if (name.length === 0) {
      sc.skipElement();
      continue;
    }
    const afterName = sc.i;
    sc.skipSpace();
    if (sc.char === '=') {
      // `name=` opens an auth-param of the current challenge; with no challenge yet it is dropped.
      sc.i++;
      sc.skipSpace();
      const value = sc.value();
      const key = name.toLowerCase();
      if (current && !Object.hasOwn(current.params, key)) current.params[key] = value;
      continue;
    }
    sc.i = afterName;
    current = { scheme: name, params: Object.create(null) as Record<string, string> };
    out.push(current);
    if (!isSpace(sc.char)) continue;
    sc.skipSpace();
    const t68 = token68(sc);
    if (t68 !== undefined) current.token68 = t68;
  }
  return out;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Writes a challenge in RFC 7235 syntax, every parameter value quoted, so that
 * `parseWwwAuthenticate(formatChallenge(c))` gives `c` back (for lowercase parameter names).
 * Several challenges go in one header joined by `, `.
 *
 * @example
 * formatChallenge({ scheme: 'Bearer', params: { error: 'insufficient_scope', scope: 'r_voice' } })
 * // 'Bearer error="insufficient_scope", scope="r_voice"'
 */
export function formatChallenge(challenge: Challenge): string {
  const parts: string[] = [];
  if (challenge.token68 !== undefined) parts.push(challenge.token68);
  for (const [name, value] of Object.entries(challenge.params)) parts.push(`${name}=${quote(value)}`);
  return parts.length === 0 ? challenge.scheme : `${challenge.scheme} ${parts.join(', ')}`;
}
