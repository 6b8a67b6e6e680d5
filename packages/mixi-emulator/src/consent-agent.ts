/**
 * A user agent that goes through the emulator's login and consent pages over HTTP the way a browser
 * does (cookie jar, hidden form fields, redirects inspected, not followed). The demo, the benchmarks
 * and tests use it to authorize test users without a real browser; the headless-Chromium tests click
 * the very same forms.
 */

/** What a test user decides on the consent page. */
export type ConsentDecision = 'allow' | 'deny';

export interface ConsentOptions {
  /** The test user's login name. */
  readonly username: string;
  /** Default `"password"` (the emulator's default for test users). */
  readonly password?: string;
  /** Default `allow`. */
  readonly decision?: ConsentDecision;
  /** `fetch` to use. Default: the global one. */
  readonly fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
}

/** Something on the pages was not what a browser would have found. */
export class ConsentAgentError extends Error {
  override readonly name = 'ConsentAgentError';
}

/**
 * Opens `authorizationUrl`, logs in as `username`, decides, and returns the URL the emulator
 * redirected to (the app's redirect URL with `code` and `state`, or `error=access_denied`).
 *
 * @example
 * const { url } = await vault.beginAuthorization({ grantId: 'alice', client: 'mixi', scope: ['r_profile'] });
 * const callback = await consentAs(url, { username: 'alice' });
 * await vault.completeAuthorization(callback);
 */
export async function consentAs(authorizationUrl: string, options: ConsentOptions): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  const cookies = new Map<string, string>();
  const keep = (res: Response): Response => {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return res;
  };
  const cookieHeader = (): Record<string, string> =>
    cookies.size === 0 ? {} : { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  const get = async (url: string) => keep(await doFetch(new URL(url, authorizationUrl), { headers: cookieHeader(), redirect: 'manual' }));
  const post = async (url: string, fields: Record<string, string>) =>
    keep(
      await doFetch(new URL(url, authorizationUrl), {
        method: 'POST',
        headers: { ...cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
        redirect: 'manual',
      }),
    );

  const first = await get(authorizationUrl);
  let consentPage = await first.text();
  if (first.status !== 200) throw new ConsentAgentError(`the authorization page answered ${first.status}`);
  if (!consentPage.includes('id="consent-form"')) {
    const login = await post('/login', {
      username: options.username,
      password: options.password ?? 'password',
      return_to: field(consentPage, 'return_to'),
    });
    const next = login.headers.get('location');
    if (login.status !== 303 || next === null) throw new ConsentAgentError(`the login answered ${login.status}`);
    const page = await get(next);
    consentPage = await page.text();
    if (page.status !== 200) throw new ConsentAgentError(`the consent page answered ${page.status}`);
  }
  const action = /<form id="consent-form" method="post" action="([^"]+)"/.exec(consentPage)?.[1];
  if (action === undefined) throw new ConsentAgentError('the consent page has no consent form');
  const decided = await post(unescapeHtml(action), {
    request_id: field(consentPage, 'request_id'),
    csrf_token: field(consentPage, 'csrf_token'),
    decision: options.decision ?? 'allow',
  });
  const location = decided.headers.get('location');
  if (decided.status !== 302 || location === null) throw new ConsentAgentError(`the consent decision answered ${decided.status}`);
  return new URL(location, authorizationUrl).toString();
}

function field(html: string, name: string): string {
  const value = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
  if (value === undefined) throw new ConsentAgentError(`the page has no "${name}" field`);
  return unescapeHtml(value);
}

function unescapeHtml(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&#x27;', "'")
    .replaceAll('&amp;', '&');
}
