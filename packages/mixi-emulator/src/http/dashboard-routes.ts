import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { EmulatorError } from '../emulator-error';
import type { ServiceInput, ServiceRecord } from '../state/service-registry';
import { validateServiceInput } from '../state/service-registry';
import type { AppEnv, EmulatorState } from './app-context';
import { statusOf } from './emulator-error-response';
import { markup, sendPage, type Markup } from './html-page';
import { mediaType, pathParam, readBody, requestHeader, withFaults } from './http-kit';

/** The 「※未確認」 mark the seed says an unconfirmed service shows. */
export const UNCONFIRMED_MARK = '※未確認';

/**
 * The Partner Dashboard for people (seed 000), as HTML: the service list, "Add new services"
 * (form → confirm → completed, with a confirmation mail), the service page (credentials once
 * confirmed, change form, ConsumerSecret re-issue behind a confirmation page, delete behind a second
 * confirmation), the outbox and test users. No scripts: plain forms, stable ids and names.
 */
export function mountDashboardRoutes(app: Hono<AppEnv>, state: EmulatorState): void {
  const page = (handler: (c: Context<AppEnv>) => Response | Promise<Response>) => (c: Context<AppEnv>) =>
    withFaults(c, state, { endpoint: 'dashboard' }, async () => {
      try {
        return await handler(c);
      } catch (error) {
        if (!(error instanceof EmulatorError)) throw error;
        return dashboardPage(c, 'Error', markup`<p id="error-message" class="error">${error.message}</p><p><a href="/dashboard">Back to the dashboard</a></p>`, statusOf(error));
      }
    });

  app.get('/dashboard', page((c) => listPage(c, state)));
  app.get('/dashboard/services/new', page((c) => dashboardPage(c, 'Add new service', serviceForm('/dashboard/services/new/confirm', {}))));
  app.post(
    '/dashboard/services/new/confirm',
    page(async (c) => {
      const input = await formInput(c, state.options.maxBodyBytes);
      try {
        validateServiceInput(input);
      } catch (error) {
        if (!(error instanceof EmulatorError)) throw error;
        return dashboardPage(c, 'Add new service', serviceForm('/dashboard/services/new/confirm', input, error), 400);
      }
      return dashboardPage(c, 'Confirm the registration', confirmRegistration(input));
    }),
  );
  app.post(
    '/dashboard/services',
    page(async (c) => {
      const record = state.services.register(await formInput(c, state.options.maxBodyBytes));
      return dashboardPage(
        c,
        'Registration completed',
        markup`<p id="registration-completed">The service <a href="/dashboard/services/${record.serviceId}">${record.name}</a> is registered.</p>
<p>A confirmation letter was sent to <strong id="confirmation-address">${record.inquiryEmail}</strong>. Open the link in it to see the credentials
(<a href="/dashboard/outbox">outbox</a>).</p>`,
        201,
      );
    }),
  );
  app.get('/dashboard/services/:serviceId', page((c) => servicePage(c, state.services.get(pathParam(c, 'serviceId')))));
  app.post(
    '/dashboard/services/:serviceId',
    page(async (c) => {
      const before = state.services.get(pathParam(c, 'serviceId'));
      const pendingBefore = before.pendingInquiryEmail;
      const input = await formInput(c, state.options.maxBodyBytes);
      let record: ServiceRecord;
      try {
        record = state.services.update(before.serviceId, input);
      } catch (error) {
        if (!(error instanceof EmulatorError) || error.code !== 'invalid_input') throw error;
        return servicePage(c, before, error, 400);
      }
      const mailed = record.pendingInquiryEmail !== undefined && record.pendingInquiryEmail !== pendingBefore;
      return dashboardPage(
        c,
        'Change completed',
        markup`<p id="change-completed">The registered information of <a href="/dashboard/services/${record.serviceId}">${record.name}</a> was changed.</p>
${mailed ? markup`<p id="email-change-note">A confirmation mail was sent to <strong>${record.pendingInquiryEmail}</strong>. Until it is confirmed, <strong>${record.inquiryEmail}</strong> stays in force.</p>` : ''}`,
      );
    }),
  );
  app.get(
    '/dashboard/services/:serviceId/reissue',
    page((c) => {
      const record = state.services.get(pathParam(c, 'serviceId'));
      return dashboardPage(
        c,
        'Re-issue the ConsumerSecret',
        markup`<p>Re-issue the ConsumerSecret of <strong>${record.name}</strong>? The current secret stops working at once.</p>
<form id="reissue-form" method="post" action="/dashboard/services/${record.serviceId}/reissue"><button id="reissue" type="submit">Re-issue</button></form>`,
      );
    }),
  );
  app.post(
    '/dashboard/services/:serviceId/reissue',
    page((c) => {
      const credentials = state.services.reissueSecret(pathParam(c, 'serviceId'));
      return dashboardPage(
        c,
        'ConsumerSecret re-issued',
        markup`<p id="reissued">The ConsumerSecret was re-issued.</p>${credentialsTable(credentials.clientId, credentials.clientSecret)}
<p><a href="/dashboard/services/${credentials.serviceId}">Back to the service</a></p>`,
      );
    }),
  );
  app.get(
    '/dashboard/services/:serviceId/delete',
    page((c) => {
      const record = state.services.get(pathParam(c, 'serviceId'));
      return dashboardPage(
        c,
        'Delete the service',
        markup`<p>Delete <strong>${record.name}</strong>? Its credentials and every token issued to it stop working.</p>
<form id="delete-form" method="post" action="/dashboard/services/${record.serviceId}/delete"><button id="delete" type="submit">Delete</button></form>`,
      );
    }),
  );
  app.post(
    '/dashboard/services/:serviceId/delete',
    page((c) => {
      const record = state.services.get(pathParam(c, 'serviceId'));
      state.services.delete(record.serviceId);
      return dashboardPage(c, 'Service deleted', markup`<p id="deleted">The service <strong>${record.name}</strong> was deleted.</p><p><a href="/dashboard">Back to the dashboard</a></p>`);
    }),
  );
  app.get(
    '/dashboard/outbox',
    page((c) => {
      const mails = state.services.outbox().reverse();
      return dashboardPage(
        c,
        'Outbox',
        markup`<p>Mails the dashboard "sent" (newest first). Nothing leaves this machine.</p>
<ul id="outbox">${mails.map(
          (m) => markup`<li data-mail-id="${m.mailId}"><strong>To:</strong> ${m.to}<br><strong>Subject:</strong> ${m.subject}<br>
<a class="confirm-link" href="${m.confirmPath}">${m.confirmPath}</a></li>`,
        )}</ul>`,
      );
    }),
  );
  app.get(
    '/dashboard/confirm',
    page((c) => {
      const record = state.services.confirm(c.req.query('token') ?? '');
      return dashboardPage(
        c,
        'Confirmed',
        markup`<p id="confirmed">Thank you: the address is confirmed for <a href="/dashboard/services/${record.serviceId}">${record.name}</a>.</p>`,
      );
    }),
  );
  app.get(
    '/dashboard/test-users',
    page((c) =>
      dashboardPage(
        c,
        'Test users',
        markup`<table id="test-users"><tr><th>Username</th><th>User id</th><th>Display name</th></tr>
${state.users.list().map((u) => markup`<tr><td>${u.username}</td><td>${u.userId}</td><td>${u.displayName}</td></tr>`)}</table>
<h2>Add a test user</h2>
<form id="test-user-form" method="post" action="/dashboard/test-users">
<label for="username">Username</label><input id="username" name="username">
<label for="password">Password</label><input id="password" name="password">
<label for="display_name">Display name</label><input id="display_name" name="display_name">
<p><button id="create-user" type="submit">Add</button></p></form>`,
      ),
    ),
  );
  app.post(
    '/dashboard/test-users',
    page(async (c) => {
      const body = await formFields(c, state.options.maxBodyBytes);
      const user = state.users.create({
        username: body.get('username') ?? '',
        ...(body.get('password') ? { password: body.get('password')! } : {}),
        ...(body.get('display_name') ? { displayName: body.get('display_name')! } : {}),
      });
      return dashboardPage(c, 'Test user added', markup`<p id="user-created">Test user <strong>${user.username}</strong> (${user.userId}) added.</p><p><a href="/dashboard/test-users">Back</a></p>`, 201);
    }),
  );
}

function listPage(c: Context<AppEnv>, state: EmulatorState): Response {
  const services = state.services.list();
  return dashboardPage(
    c,
    'mixi Graph API',
    markup`<p><a id="add-service" href="/dashboard/services/new">Add new services</a> · <a href="/dashboard/outbox">Outbox</a> · <a href="/dashboard/test-users">Test users</a></p>
<table id="services"><tr><th>Service</th><th>Status</th></tr>
${services.map(
  (s) => markup`<tr data-service-id="${s.serviceId}"><td><a href="/dashboard/services/${s.serviceId}">${s.name}</a></td>
<td>${s.status === 'confirmed' ? 'Confirmed' : markup`<span class="note">${UNCONFIRMED_MARK}</span>`}</td></tr>`,
)}</table>`,
  );
}

function servicePage(c: Context<AppEnv>, record: ServiceRecord, error?: EmulatorError, status: 200 | 400 = 200): Response {
  const credentials =
    record.status === 'confirmed'
      ? markup`${credentialsTable(record.clientId, record.clientSecret)}<p><a id="reissue-link" href="/dashboard/services/${record.serviceId}/reissue">Re-issue</a></p>`
      : markup`<p id="unconfirmed" class="note">${UNCONFIRMED_MARK}</p><p>The credentials are shown once the address in the confirmation mail is confirmed.</p>`;
  const values: Partial<ServiceInput> = {
    name: record.name,
    description: record.description,
    redirectUrl: record.redirectUrl,
    inquiryEmail: record.inquiryEmail,
    ...(record.url === undefined ? {} : { url: record.url }),
    ...(record.logoFileName === undefined ? {} : { logoFileName: record.logoFileName }),
  };
  return dashboardPage(
    c,
    record.name,
    markup`<h2>Credential information</h2>${credentials}
${record.pendingInquiryEmail ? markup`<p id="pending-email">Waiting for <strong>${record.pendingInquiryEmail}</strong> to be confirmed; <strong>${record.inquiryEmail}</strong> is in force until then.</p>` : ''}
<h2>Registered information</h2>
${serviceForm(`/dashboard/services/${record.serviceId}`, values, error)}
<h2>Delete the service</h2>
<p><a id="delete-link" href="/dashboard/services/${record.serviceId}/delete">Delete</a></p>`,
    status,
  );
}

function credentialsTable(clientId: string, clientSecret: string): Markup {
  return markup`<table id="credentials"><tr><th>Consumer key</th><td><code id="consumer-key">${clientId}</code></td></tr>
<tr><th>Consumer secret</th><td><code id="consumer-secret">${clientSecret}</code></td></tr></table>`;
}

/** The service form: the seed's fields; the logo is an upload whose file name is kept. */
function serviceForm(action: string, values: Partial<ServiceInput>, error?: EmulatorError): Markup {
  const field = (name: string, label: string, value: string | undefined, type = 'text') =>
    markup`<label for="${name}">${label}</label><input id="${name}" name="${name}" type="${type}" value="${value ?? ''}">`;
  return markup`${error ? markup`<p id="form-error" class="error" data-field="${error.field ?? ''}">${error.message}</p>` : ''}
<form id="service-form" method="post" action="${action}" enctype="multipart/form-data">
${field('name', 'Service name', values.name)}
<label for="logo">Logo (.png, .jpg, .gif)</label><input id="logo" name="logo" type="file" accept="image/png,image/jpeg,image/gif">
${values.logoFileName ? markup`<input type="hidden" name="logo_file_name" value="${values.logoFileName}"><p>Current logo: <span id="current-logo">${values.logoFileName}</span></p>` : ''}
<label for="description">Service description</label><textarea id="description" name="description" rows="4">${values.description ?? ''}</textarea>
${field('url', 'URL', values.url, 'url')}
${field('redirect_url', 'Redirect URL', values.redirectUrl, 'url')}
${field('inquiry_email', 'Inquiry e-mail address', values.inquiryEmail, 'email')}
<p><button id="submit-service" type="submit">Confirm</button></p>
</form>`;
}

function confirmRegistration(input: ServiceInput): Markup {
  const row = (label: string, id: string, value: string | undefined) => markup`<tr><th>${label}</th><td id="${id}">${value ?? ''}</td></tr>`;
  const hidden = (name: string, value: string | undefined) => (value === undefined ? '' : markup`<input type="hidden" name="${name}" value="${value}">`);
  return markup`<p>Check what you entered. The logo is shown by file name.</p>
<table id="registration-summary">
${row('Service name', 'summary-name', input.name)}${row('Logo', 'summary-logo', input.logoFileName)}
${row('Service description', 'summary-description', input.description)}${row('URL', 'summary-url', input.url)}
${row('Redirect URL', 'summary-redirect-url', input.redirectUrl)}${row('Inquiry e-mail address', 'summary-inquiry-email', input.inquiryEmail)}
</table>
<form id="register-form" method="post" action="/dashboard/services">
${hidden('name', input.name)}${hidden('logo_file_name', input.logoFileName)}${hidden('description', input.description)}
${hidden('url', input.url)}${hidden('redirect_url', input.redirectUrl)}${hidden('inquiry_email', input.inquiryEmail)}
<button id="register" type="submit">Register</button>
</form>`;
}

function dashboardPage(c: Context<AppEnv>, title: string, body: Markup, status: ContentfulStatusCode = 200): Response {
  return sendPage(c, { title: `${title} – Partner Dashboard`, layout: 'dashboard', body: markup`<h1>${title}</h1>${body}` }, status);
}

/**
 * The form's fields, from either encoding (the service form is multipart because of the logo); the
 * last value of a repeated name wins, as browsers never repeat these.
 */
async function formFields(c: Context<AppEnv>, maxBytes: number): Promise<Map<string, string>> {
  const type = mediaType(c);
  if (type !== 'multipart/form-data' && type !== 'application/x-www-form-urlencoded') {
    throw new EmulatorError('invalid_input', 'the form must be multipart/form-data or application/x-www-form-urlencoded', { field: 'body' });
  }
  const bytes = await readBody(c, maxBytes);
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { 'content-type': requestHeader(c, 'content-type') ?? '' } }).formData();
  } catch {
    throw new EmulatorError('invalid_input', 'the form could not be read', { field: 'body' });
  }
  const fields = new Map<string, string>();
  for (const [name, value] of form) {
    if (typeof value === 'string') fields.set(name, value);
  }
  // A newly uploaded logo replaces the one carried over in the hidden field.
  const logo = form.get('logo');
  if (logo !== null && typeof logo !== 'string' && logo.name) fields.set('logo_file_name', logo.name);
  return fields;
}

async function formInput(c: Context<AppEnv>, maxBytes: number): Promise<ServiceInput> {
  const f = await formFields(c, maxBytes);
  const optionalField = (key: 'url' | 'logoFileName', value: string | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    name: f.get('name') ?? '',
    description: f.get('description') ?? '',
    redirectUrl: f.get('redirect_url') ?? '',
    inquiryEmail: f.get('inquiry_email') ?? '',
    ...optionalField('url', f.get('url')),
    ...optionalField('logoFileName', f.get('logo_file_name')),
  };
}
