import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNCONFIRMED_MARK, type OutboxMailView, type ServiceView } from '../src/index';
import { bodyOf, callApi, expectOAuthError, jsonOf, postForm, postJson, refresh, startEmulator, type Harness } from './support/harness';

const INPUT = {
  name: 'Photo diary',
  description: 'Reads the profile to show the author',
  url: 'https://diary.example/',
  redirectUrl: 'https://diary.example/callback',
  inquiryEmail: 'owner@diary.example',
};

describe('Partner Dashboard JSON API', () => {
  let h: Harness;
  /** Every 9-byte draw is a consumer key: recording them lets a test use a key the dashboard does not show yet. */
  const keys: string[] = [];
  beforeAll(async () => {
    h = await startEmulator({
      randomBytes: (n) => {
        const bytes = randomBytes(n);
        if (n === 9) keys.push(bytes.toString('hex'));
        return bytes;
      },
    });
  });
  afterAll(() => h.close());
  const api = (path = '') => `${h.url}/dashboard/api${path}`;
  const register = async (input: Record<string, unknown> = INPUT) => {
    const res = await postJson(api('/services'), input);
    expect(res.status).toBe(201);
    return jsonOf<ServiceView>(res);
  };
  const mailsTo = async (to: string) => (await jsonOf<{ mails: OutboxMailView[] }>(await fetch(api(`/outbox?to=${encodeURIComponent(to)}`)))).mails;
  const tokenRequest = (clientId: string, clientSecret: string) =>
    postForm(`${h.url}/2/token`, { grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: 'x' });

  it('registers a service unconfirmed, without credentials, and mails a confirmation link', async () => {
    const view = await register();
    expect(view).toMatchObject({ ...INPUT, status: 'unconfirmed', credentials: null, pendingInquiryEmail: null, logoFileName: null });
    const mails = await mailsTo(INPUT.inquiryEmail);
    const mail = mails.find((m) => m.serviceId === view.serviceId)!;
    expect(mail).toMatchObject({ purpose: 'registration', to: INPUT.inquiryEmail });
    expect(mail.confirmUrl).toBe(`${h.url}${mail.confirmPath}`);
    expect(mail.text).toContain(mail.confirmPath);
  });

  it('keeps the consumer key unusable until the address is confirmed, then shows and honours it', async () => {
    const view = await register({ ...INPUT, name: 'Pending' });
    const clientId = keys.at(-1)!;
    await expectOAuthError(
      await postForm(`${h.url}/2/token`, { grant_type: 'server_state', client_id: clientId }),
      401,
      'invalid_client',
    );
    const mail = (await mailsTo(INPUT.inquiryEmail)).find((m) => m.serviceId === view.serviceId)!;
    const page = await fetch(mail.confirmUrl);
    expect(page.status).toBe(200);
    expect(await bodyOf(page)).toContain('id="confirmed"');
    const confirmed = await jsonOf<ServiceView>(await fetch(api(`/services/${view.serviceId}`)));
    expect(confirmed.status).toBe('confirmed');
    expect(confirmed.credentials?.clientId).toBe(clientId);
    const ok = await postForm(`${h.url}/2/token`, { grant_type: 'server_state', client_id: clientId });
    expect(ok.status).toBe(200);
    // A confirmation link works once.
    expect((await fetch(mail.confirmUrl)).status).toBe(404);
  });

  it('confirms through the JSON API as well', async () => {
    const view = await register({ ...INPUT, name: 'Json confirm' });
    const mail = (await mailsTo(INPUT.inquiryEmail)).find((m) => m.serviceId === view.serviceId)!;
    const res = await postJson(api('/confirmations'), { token: mail.confirmationToken });
    expect((await jsonOf<ServiceView>(res)).status).toBe('confirmed');
    expect((await postJson(api('/confirmations'), { token: mail.confirmationToken })).status).toBe(404);
  });

  it('keeps the old e-mail in force until the new one is confirmed; a second change supersedes the first', async () => {
    const { serviceId } = await register({ ...INPUT, name: 'Mail change', inquiryEmail: 'old@example.com' });
    const patch = (body: unknown) => postJson(api(`/services/${serviceId}`), body, 'PATCH');
    const first = await jsonOf<ServiceView>(await patch({ inquiryEmail: 'new1@example.com' }));
    expect(first).toMatchObject({ inquiryEmail: 'old@example.com', pendingInquiryEmail: 'new1@example.com' });
    const firstMail = (await mailsTo('new1@example.com'))[0]!;
    expect(firstMail.purpose).toBe('email-change');
    await patch({ inquiryEmail: 'new2@example.com', description: 'changed too' });
    expect((await postJson(api('/confirmations'), { token: firstMail.confirmationToken })).status).toBe(404);
    const secondMail = (await mailsTo('new2@example.com'))[0]!;
    const after = await jsonOf<ServiceView>(await postJson(api('/confirmations'), { token: secondMail.confirmationToken }));
    expect(after).toMatchObject({ inquiryEmail: 'new2@example.com', pendingInquiryEmail: null, description: 'changed too' });
  });

  it('re-issues the ConsumerSecret: the old one stops working at once, the new one works', async () => {
    const creds = h.emulator.registerService({ ...INPUT, name: 'Reissue' });
    const grant = h.emulator.mintGrant({ clientId: creds.clientId, scope: 'r_profile' });
    const res = await fetch(api(`/services/${creds.serviceId}/secret`), { method: 'POST' });
    const view = await jsonOf<ServiceView>(res);
    const newSecret = view.credentials!.clientSecret;
    expect(newSecret).not.toBe(creds.clientSecret);
    await expectOAuthError(await tokenRequest(creds.clientId, creds.clientSecret), 401, 'invalid_client');
    const ok = await refresh(h, { ...creds, clientSecret: newSecret }, grant.refreshToken);
    expect(ok.status).toBe(200);
  });

  it('refuses to re-issue the secret of an unconfirmed service (409)', async () => {
    const { serviceId } = await register({ ...INPUT, name: 'No secret yet' });
    expect((await fetch(api(`/services/${serviceId}/secret`), { method: 'POST' })).status).toBe(409);
  });

  it('deletes a service: its credentials and its users’ tokens stop working', async () => {
    const creds = h.emulator.registerService({ ...INPUT, name: 'Doomed' });
    const grant = h.emulator.mintGrant({ clientId: creds.clientId, scope: 'r_profile' });
    expect((await callApi(h, '/2/people/@me/@self', grant.accessToken)).status).toBe(200);
    const res = await fetch(api(`/services/${creds.serviceId}`), { method: 'DELETE' });
    expect(res.status).toBe(204);
    await expectOAuthError(await refresh(h, creds, grant.refreshToken), 401, 'invalid_client');
    const apiCall = await callApi(h, '/2/people/@me/@self', grant.accessToken);
    expect(apiCall.status).toBe(401);
    expect(apiCall.headers.get('www-authenticate')).toMatch(/invalid_token/);
    expect(h.emulator.getGrant(grant.grantId).revokedReason).toBe('service_deleted');
    expect((await fetch(api(`/services/${creds.serviceId}`))).status).toBe(404);
  });

  it.each([
    ['a missing name', { ...INPUT, name: undefined }, 'name'],
    ['a relative redirect URL', { ...INPUT, redirectUrl: '/callback' }, 'redirectUrl'],
    ['a javascript: redirect URL', { ...INPUT, redirectUrl: 'javascript:alert(1)' }, 'redirectUrl'],
    ['a redirect URL with a fragment', { ...INPUT, redirectUrl: 'https://a.example/cb#x' }, 'redirectUrl'],
    ['a malformed e-mail', { ...INPUT, inquiryEmail: 'not-an-address' }, 'inquiryEmail'],
    ['a non-image logo', { ...INPUT, logoFileName: 'logo.exe' }, 'logoFileName'],
    ['a number for a string', { ...INPUT, url: 42 }, 'url'],
    ['an unknown field', { ...INPUT, colour: 'red' }, 'colour'],
  ])('refuses %s with 400 naming the field', async (_, body, field) => {
    const res = await postJson(api('/services'), body);
    expect(res.status).toBe(400);
    expect(await jsonOf(res)).toMatchObject({ error: 'invalid_request', field });
  });

  it('refuses bodies that are not JSON objects, and answers unknown services with 404', async () => {
    for (const body of ['not json', '[1,2]', '"text"']) {
      const res = await fetch(api('/services'), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(400);
      await jsonOf(res);
    }
    const form = await postForm(api('/services'), { name: 'x' });
    expect(form.status).toBe(400);
    expect((await fetch(api('/services/svc-999'))).status).toBe(404);
    expect((await fetch(api('/services/svc-999'), { method: 'DELETE' })).status).toBe(404);
  });

  it('creates and lists test users, refusing duplicates with 409', async () => {
    const res = await postJson(api('/test-users'), { username: 'carol', password: 'pw', displayName: 'Carol' });
    expect(res.status).toBe(201);
    const user = await jsonOf<{ userId: string; username: string }>(res);
    expect(user.username).toBe('carol');
    const list = await jsonOf<{ users: { username: string }[] }>(await fetch(api('/test-users')));
    expect(list.users.map((u) => u.username)).toContain('carol');
    expect((await postJson(api('/test-users'), { username: 'carol' })).status).toBe(409);
    expect((await postJson(api('/test-users'), { username: 'has space' })).status).toBe(400);
    expect((await postJson(api('/test-users'), { username: 'dave', friends: ['nobody'] })).status).toBe(404);
  });
});

describe('Partner Dashboard HTML', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startEmulator();
  });
  afterAll(() => h.close());
  const page = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${h.url}${path}`, { redirect: 'manual', ...init });
    return { res, html: await bodyOf(res) };
  };

  it('walks register → confirm page (logo by file name) → completed → 「※未確認」 → mail link → credentials', async () => {
    const form = await page('/dashboard/services/new');
    for (const name of ['name', 'logo', 'description', 'url', 'redirect_url', 'inquiry_email']) expect(form.html).toContain(`name="${name}"`);

    const multipart = new FormData();
    multipart.set('name', 'Html service');
    multipart.set('description', 'Made through the HTML dashboard');
    multipart.set('url', '');
    multipart.set('redirect_url', 'https://html.example/cb');
    multipart.set('inquiry_email', 'html@example.com');
    multipart.set('logo', new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'my-logo.png', { type: 'image/png' }));
    const confirm = await page('/dashboard/services/new/confirm', { method: 'POST', body: multipart });
    expect(confirm.res.status).toBe(200);
    expect(confirm.html).toContain('<td id="summary-logo">my-logo.png</td>');
    expect(confirm.html).not.toContain('<img');

    const hidden = Object.fromEntries([...confirm.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], m[2]]));
    const done = await page('/dashboard/services', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(hidden as Record<string, string>).toString(),
    });
    expect(done.res.status).toBe(201);
    expect(done.html).toContain('id="confirmation-address">html@example.com<');

    const list = await page('/dashboard');
    expect(list.html).toContain(UNCONFIRMED_MARK);
    const serviceId = /data-service-id="([^"]+)"><td><a href="[^"]+">Html service</.exec(list.html)![1]!;
    const before = await page(`/dashboard/services/${serviceId}`);
    expect(before.html).toContain('id="unconfirmed"');
    expect(before.html).not.toContain('id="consumer-key"');

    const outbox = await page('/dashboard/outbox');
    const link = /<a class="confirm-link" href="([^"]+)"/.exec(outbox.html)![1]!.replace(/&amp;/g, '&');
    expect((await page(link)).html).toContain('id="confirmed"');
    const after = await page(`/dashboard/services/${serviceId}`);
    const key = /id="consumer-key">([0-9a-f]+)</.exec(after.html)?.[1];
    const secret = /id="consumer-secret">([0-9a-f]+)</.exec(after.html)?.[1];
    expect(h.emulator.getService(serviceId).credentials).toEqual({ clientId: key, clientSecret: secret });
    expect(h.emulator.getService(serviceId).logoFileName).toBe('my-logo.png');
  });

  it('shows field errors on the form with 400 instead of registering', async () => {
    const res = await page('/dashboard/services/new/confirm', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: 'x', description: 'y', redirect_url: 'ftp://x', inquiry_email: 'a@b.example' }).toString(),
    });
    expect(res.res.status).toBe(400);
    expect(res.html).toContain('data-field="redirectUrl"');
  });

  it('changes details, announces the e-mail confirmation, and keeps the old address in force', async () => {
    const creds = h.emulator.registerService({ ...INPUT, name: 'Html change' });
    const res = await page(`/dashboard/services/${creds.serviceId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        name: 'Html change 2',
        description: INPUT.description,
        url: INPUT.url,
        redirect_url: INPUT.redirectUrl,
        inquiry_email: 'moved@example.com',
      }).toString(),
    });
    expect(res.res.status).toBe(200);
    expect(res.html).toContain('id="email-change-note"');
    const view = h.emulator.getService(creds.serviceId);
    expect(view).toMatchObject({ name: 'Html change 2', inquiryEmail: INPUT.inquiryEmail, pendingInquiryEmail: 'moved@example.com' });
    expect((await page(`/dashboard/services/${creds.serviceId}`)).html).toContain('id="pending-email"');
  });

  it('re-issues the secret behind a confirmation page', async () => {
    const creds = h.emulator.registerService({ ...INPUT, name: 'Html reissue' });
    const ask = await page(`/dashboard/services/${creds.serviceId}/reissue`);
    expect(ask.html).toContain('id="reissue-form"');
    expect(h.emulator.getService(creds.serviceId).credentials?.clientSecret).toBe(creds.clientSecret);
    const done = await page(`/dashboard/services/${creds.serviceId}/reissue`, { method: 'POST' });
    const secret = /id="consumer-secret">([0-9a-f]+)</.exec(done.html)?.[1];
    expect(secret).toBeDefined();
    expect(secret).not.toBe(creds.clientSecret);
    expect(h.emulator.getService(creds.serviceId).credentials?.clientSecret).toBe(secret);
  });

  it('deletes only after the second confirmation', async () => {
    const creds = h.emulator.registerService({ ...INPUT, name: 'Html delete' });
    const ask = await page(`/dashboard/services/${creds.serviceId}/delete`);
    expect(ask.html).toContain('id="delete-form"');
    expect(h.emulator.getService(creds.serviceId).status).toBe('confirmed');
    const done = await page(`/dashboard/services/${creds.serviceId}/delete`, { method: 'POST' });
    expect(done.html).toContain('id="deleted"');
    expect((await page(`/dashboard/services/${creds.serviceId}`)).res.status).toBe(404);
  });

  it('escapes service fields everywhere they are shown', async () => {
    h.emulator.registerService({ ...INPUT, name: '<script>alert("x")</script>', description: '<b onclick=x>' });
    const list = await page('/dashboard');
    expect(list.html).not.toContain('<script>alert');
    expect(list.html).toContain('&lt;script&gt;');
  });

  it('adds test users from the HTML page', async () => {
    const res = await page('/dashboard/test-users', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=erin&password=pw&display_name=Erin',
    });
    expect(res.res.status).toBe(201);
    expect((await page('/dashboard/test-users')).html).toContain('<td>erin</td>');
  });

  it('answers unknown pages and bad confirmation links with 404 pages', async () => {
    expect((await page('/dashboard/services/svc-404')).res.status).toBe(404);
    expect((await page('/dashboard/confirm?token=nope')).res.status).toBe(404);
    expect((await page('/dashboard/nothing-here')).res.status).toBe(404);
  });
});
