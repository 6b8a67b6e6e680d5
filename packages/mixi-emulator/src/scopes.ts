/**
 * The scopes the emulator knows, with the sentence the consent page shows for each. Taken from mixi's
 * public pages (MIXI.md); `r_profile_*` detail scopes are accepted by pattern.
 */
const SCOPE_DESCRIPTIONS: ReadonlyMap<string, string> = new Map([
  ['r_profile', 'Read your basic profile (nickname, profile image, profile URL)'],
  ['w_profile', 'Change your profile'],
  ['r_updates', 'Read your friends’ updates'],
  ['r_voice', 'Read your mixi Voice posts and your friends’ posts'],
  ['w_voice', 'Post to mixi Voice on your behalf'],
  ['r_share', 'Read what you shared'],
  ['w_share', 'Share on your behalf'],
  ['r_photo', 'Read your photo albums'],
  ['w_photo', 'Upload photos on your behalf'],
  ['r_message', 'Read your messages'],
  ['w_message', 'Send messages on your behalf'],
  ['r_diary', 'Read your diary'],
  ['w_diary', 'Write diary entries on your behalf'],
  ['r_checkin', 'Read your check-ins'],
  ['w_checkin', 'Check in on your behalf'],
  ['r_calendar', 'Read your calendar'],
  ['w_calendar', 'Change your calendar'],
  ['openid', 'Sign you in to this service with your mixi account'],
]);

const PROFILE_DETAIL = /^r_profile_[a-z][a-z_]{0,31}$/;

/** The consent page's sentence for a scope, or undefined when the scope is unknown. */
export function describeScope(scope: string): string | undefined {
  const known = SCOPE_DESCRIPTIONS.get(scope);
  if (known !== undefined) return known;
  if (PROFILE_DETAIL.test(scope)) return `Read a detail of your profile (${scope.slice('r_profile_'.length).replace(/_/g, ' ')})`;
  return undefined;
}

/** The outcome of parsing a `scope` parameter. */
export type ScopeParse =
  | { readonly ok: true; readonly scopes: readonly string[] }
  | { readonly ok: false; readonly error: 'invalid_request' | 'invalid_scope'; readonly description: string };

/**
 * Parses a space-separated `scope` value: duplicates collapse (order kept), runs of spaces are
 * tolerated, unknown scopes are `invalid_scope`, a missing or empty one is `invalid_request`.
 */
export function parseScope(value: string | undefined): ScopeParse {
  if (value === undefined || value.trim() === '') {
    return { ok: false, error: 'invalid_request', description: 'scope is required' };
  }
  const scopes: string[] = [];
  for (const token of value.split(' ')) {
    if (token === '') continue;
    if (describeScope(token) === undefined) {
      return { ok: false, error: 'invalid_scope', description: `unknown scope: ${token.slice(0, 64)}` };
    }
    if (!scopes.includes(token)) scopes.push(token);
  }
  return { ok: true, scopes };
}
