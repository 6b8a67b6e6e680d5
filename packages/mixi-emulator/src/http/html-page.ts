import type { Context } from 'hono';
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from './app-context';

/** Markup whose interpolated values are already escaped. */
export type Markup = HtmlEscapedString;

/**
 * Hono's `html` tag (every interpolated value is HTML-escaped unless it is itself markup), narrowed
 * to the synchronous case: the emulator never interpolates promises.
 */
export function markup(strings: TemplateStringsArray, ...values: unknown[]): Markup {
  const out = html(strings, ...values);
  if (out instanceof Promise) throw new TypeError('markup() does not take asynchronous values');
  return out;
}

/** How a page is laid out: the PC page, the smartphone pages, or the bare feature-phone page. */
export type Layout = 'pc' | 'touch' | 'smartphone' | 'ios' | 'feature-phone' | 'dashboard';

const STYLE = `body{font-family:sans-serif;margin:0;color:#333}header{background:#d1ad5a;color:#fff;padding:8px 16px}
main{padding:16px;max-width:760px}body[data-layout=touch] main,body[data-layout=smartphone] main,body[data-layout=ios] main{max-width:none;font-size:1.1em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.error{color:#b00}.note{color:#b00;font-weight:bold}
button{padding:6px 16px;margin-right:8px}label{display:block;margin-top:8px}input,textarea{min-width:320px}`;
// A constant of this module, never input: the one place markup is emitted unescaped.
const STYLE_MARKUP = raw(STYLE);

/**
 * Sends a complete HTML page with the headers a careful provider sets on its sign-in and consent
 * pages: no framing (clickjacking), no caching, no referrer leaking codes, no scripts at all.
 */
export function sendPage(
  c: Context<AppEnv>,
  page: { title: string; layout: Layout; body: Markup },
  status: ContentfulStatusCode = 200,
): Response {
  const mobile = page.layout !== 'pc' && page.layout !== 'dashboard';
  const document = markup`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
${mobile ? markup`<meta name="viewport" content="width=device-width, initial-scale=1">` : ''}
<title>${page.title}</title>
${page.layout === 'feature-phone' ? '' : markup`<style>${STYLE_MARKUP}</style>`}
</head>
<body data-layout="${page.layout}">
<header>mixi${page.layout === 'dashboard' ? ' Partner Dashboard' : ''}</header>
<main>
${page.body}
</main>
</body>
</html>`;
  return c.html(document, status, {
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
}

/** A small page that explains an error to a person. */
export function sendErrorPage(c: Context<AppEnv>, status: ContentfulStatusCode, title: string, message: string, layout: Layout = 'pc'): Response {
  return sendPage(c, { title, layout, body: markup`<h1>${title}</h1><p id="error-message" class="error">${message}</p>` }, status);
}
