import { constantTimeEqual } from '../constant-time-equal';
import { EmulatorError } from '../emulator-error';
import { TOKEN_BYTES, type TokenGenerator } from '../token-generator';
import type { VirtualClock } from '../virtual-clock';

/** What a developer fills in on the Partner Dashboard (seed 000). */
export interface ServiceInput {
  /** Name of the application or service that uses the Graph API. */
  readonly name: string;
  /** What the service is and how it uses the data it reads. */
  readonly description: string;
  /** The service's own URL, when it has one. */
  readonly url?: string;
  /** Where users land after authorization: the one redirect URL the emulator will ever redirect to. */
  readonly redirectUrl: string;
  /** Inquiry e-mail address; the confirmation mail goes here. */
  readonly inquiryEmail: string;
  /** File name of the logo; the dashboard shows the name, never the image (as the seed says). */
  readonly logoFileName?: string;
}

/** A change to a registered service: any subset of the fields. */
export type ServiceUpdate = Partial<ServiceInput>;

/** Confirmation state of a service: credentials exist only once the inquiry e-mail is confirmed. */
export type ServiceStatus = 'unconfirmed' | 'confirmed';

/** The emulator's record of a registered service. Mutable fields change through the registry only. */
export interface ServiceRecord {
  readonly serviceId: string;
  readonly clientId: string;
  readonly createdAt: number;
  name: string;
  description: string;
  url: string | undefined;
  redirectUrl: string;
  inquiryEmail: string;
  pendingInquiryEmail: string | undefined;
  logoFileName: string | undefined;
  status: ServiceStatus;
  clientSecret: string;
  /** Set on deletion; grants keep a reference, so their tokens check this flag. */
  deleted: boolean;
}

/** The JSON view of a service: credentials appear only after confirmation. */
export interface ServiceView {
  readonly serviceId: string;
  readonly name: string;
  readonly description: string;
  readonly url: string | null;
  readonly redirectUrl: string;
  readonly inquiryEmail: string;
  /** A changed address waiting for confirmation; `inquiryEmail` stays in force until then. */
  readonly pendingInquiryEmail: string | null;
  readonly logoFileName: string | null;
  readonly status: ServiceStatus;
  readonly createdAt: number;
  readonly credentials: { readonly clientId: string; readonly clientSecret: string } | null;
}

/** Why a confirmation mail was sent. */
export type MailPurpose = 'registration' | 'email-change';

/** A mail in the emulator's outbox (nothing is ever sent). */
export interface OutboxMail {
  readonly mailId: string;
  readonly serviceId: string;
  readonly purpose: MailPurpose;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  /** The confirmation token; the link is `confirmPath` on the emulator's origin. */
  readonly confirmationToken: string;
  readonly confirmPath: string;
  readonly sentAt: number;
}

interface PendingConfirmation {
  readonly serviceId: string;
  readonly purpose: MailPurpose;
  readonly email: string;
}

/** Registered credentials, as `registerConfirmedService` returns them. */
export interface ServiceCredentials {
  readonly serviceId: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** The outcome of checking a client's credentials at the token endpoint. */
export type ClientCheck =
  | { readonly ok: true; readonly service: ServiceRecord }
  | { readonly ok: false; readonly description: string };

const EMAIL = /^[^\s@<>"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$/;
const LOGO = /\.(?:png|jpe?g|gif)$/i;

/**
 * The Partner Dashboard's data: services, their credentials, and the confirmation mails. Both the
 * HTML dashboard, its JSON API and the programmatic helpers go through these methods.
 */
export class ServiceRegistry {
  readonly #byServiceId = new Map<string, ServiceRecord>();
  readonly #byClientId = new Map<string, ServiceRecord>();
  readonly #confirmations = new Map<string, PendingConfirmation>();
  readonly #outbox: OutboxMail[] = [];
  readonly #clock: VirtualClock;
  readonly #tokens: TokenGenerator;
  #serviceSeq = 0;
  #mailSeq = 0;

  constructor(clock: VirtualClock, tokens: TokenGenerator) {
    this.#clock = clock;
    this.#tokens = tokens;
  }

  /**
   * Registers a service: it starts unconfirmed (「※未確認」) and a confirmation mail goes to the
   * inquiry address.
   */
  register(input: ServiceInput): ServiceRecord {
    const clean = validateServiceInput(input);
    const record: ServiceRecord = {
      serviceId: `svc-${++this.#serviceSeq}`,
      clientId: this.#tokens.unique(TOKEN_BYTES.clientId, (v) => this.#byClientId.has(v)),
      clientSecret: this.#tokens.hex(TOKEN_BYTES.clientSecret),
      createdAt: this.#clock.now(),
      name: clean.name,
      description: clean.description,
      url: clean.url,
      redirectUrl: clean.redirectUrl,
      inquiryEmail: clean.inquiryEmail,
      pendingInquiryEmail: undefined,
      logoFileName: clean.logoFileName,
      status: 'unconfirmed',
      deleted: false,
    };
    this.#byServiceId.set(record.serviceId, record);
    this.#byClientId.set(record.clientId, record);
    this.#sendConfirmation(record, 'registration', record.inquiryEmail);
    return record;
  }

  /** Registers a service and confirms it at once (what a test or benchmark wants). */
  registerConfirmed(input: ServiceInput): ServiceCredentials {
    const record = this.register(input);
    const mail = this.#outbox.findLast((m) => m.serviceId === record.serviceId);
    // register() always sends exactly one mail; finding none would be a bug in this class.
    if (!mail) throw new EmulatorError('unknown_confirmation', 'no confirmation mail was sent');
    this.confirm(mail.confirmationToken);
    return { serviceId: record.serviceId, clientId: record.clientId, clientSecret: record.clientSecret };
  }

  /** Follows a confirmation link: confirms a registration or makes a changed e-mail take effect. */
  confirm(token: string): ServiceRecord {
    const pending = this.#confirmations.get(token);
    const record = pending && this.#byServiceId.get(pending.serviceId);
    if (!pending || !record) {
      throw new EmulatorError('unknown_confirmation', 'this confirmation link is unknown, already used or superseded', { field: 'token' });
    }
    this.#confirmations.delete(token);
    if (pending.purpose === 'registration') {
      record.status = 'confirmed';
    } else {
      record.inquiryEmail = pending.email;
      record.pendingInquiryEmail = undefined;
    }
    return record;
  }

  /**
   * Changes registered details. A new inquiry e-mail only becomes pending: a confirmation mail goes to
   * it and the old address stays in force until that link is followed.
   */
  update(ref: string, update: ServiceUpdate): ServiceRecord {
    const record = this.get(ref);
    const merged = validateServiceInput({
      name: update.name ?? record.name,
      description: update.description ?? record.description,
      redirectUrl: update.redirectUrl ?? record.redirectUrl,
      inquiryEmail: update.inquiryEmail ?? record.inquiryEmail,
      ...optional('url', update.url ?? record.url),
      ...optional('logoFileName', update.logoFileName ?? record.logoFileName),
    });
    record.name = merged.name;
    record.description = merged.description;
    record.url = merged.url;
    record.redirectUrl = merged.redirectUrl;
    record.logoFileName = merged.logoFileName;
    if (merged.inquiryEmail !== record.inquiryEmail && merged.inquiryEmail !== record.pendingInquiryEmail) {
      // A second change before confirmation supersedes the first: its link stops working.
      this.#dropConfirmations(record.serviceId, 'email-change');
      record.pendingInquiryEmail = merged.inquiryEmail;
      this.#sendConfirmation(record, 'email-change', merged.inquiryEmail);
    } else if (merged.inquiryEmail === record.inquiryEmail && record.pendingInquiryEmail !== undefined) {
      // Changing back to the address in force cancels the pending change.
      this.#dropConfirmations(record.serviceId, 'email-change');
      record.pendingInquiryEmail = undefined;
    }
    return record;
  }

  /** Re-issues the ConsumerSecret: the old one stops working at once. */
  reissueSecret(ref: string): ServiceCredentials {
    const record = this.get(ref);
    if (record.status !== 'confirmed') {
      throw new EmulatorError('service_unconfirmed', 'credentials exist only after the e-mail is confirmed', { field: 'serviceId' });
    }
    record.clientSecret = this.#tokens.hex(TOKEN_BYTES.clientSecret);
    return { serviceId: record.serviceId, clientId: record.clientId, clientSecret: record.clientSecret };
  }

  /** Deletes a service: its credentials and every token issued to it stop working. */
  delete(ref: string): void {
    const record = this.get(ref);
    record.deleted = true;
    this.#byServiceId.delete(record.serviceId);
    this.#byClientId.delete(record.clientId);
    this.#dropConfirmations(record.serviceId);
  }

  /**
   * The service by its service id or its consumer key (confirmed or not), or an `unknown_service`
   * error. Both are accepted because callers often keep only the consumer key.
   */
  get(ref: string): ServiceRecord {
    const record = this.#byServiceId.get(ref) ?? this.#byClientId.get(ref);
    if (!record) throw new EmulatorError('unknown_service', 'no such service', { field: 'serviceId' });
    return record;
  }

  /** Every live service, oldest first. */
  list(): ServiceRecord[] {
    return [...this.#byServiceId.values()];
  }

  /** The confirmed, live service holding this consumer key, if any. */
  findClient(clientId: string): ServiceRecord | undefined {
    const record = this.#byClientId.get(clientId);
    return record && record.status === 'confirmed' ? record : undefined;
  }

  /**
   * Checks a consumer key and secret. Unconfirmed, deleted and unknown services all look unknown: their
   * credentials were never usable. With `secretOptional`, a missing secret passes (a wrong one never).
   */
  authenticate(clientId: string, clientSecret: string | undefined, options: { secretOptional?: boolean } = {}): ClientCheck {
    const service = this.findClient(clientId);
    if (!service) return { ok: false, description: 'unknown client_id' };
    if (clientSecret === undefined) {
      return options.secretOptional ? { ok: true, service } : { ok: false, description: 'client_secret is required' };
    }
    if (!constantTimeEqual(clientSecret, service.clientSecret)) return { ok: false, description: 'wrong client_secret' };
    return { ok: true, service };
  }

  /** The outbox, oldest first; `to` filters by recipient. */
  outbox(to?: string): OutboxMail[] {
    return to === undefined ? [...this.#outbox] : this.#outbox.filter((m) => m.to === to);
  }

  #sendConfirmation(record: ServiceRecord, purpose: MailPurpose, to: string): void {
    const token = this.#tokens.unique(TOKEN_BYTES.confirmation, (v) => this.#confirmations.has(v));
    this.#confirmations.set(token, { serviceId: record.serviceId, purpose, email: to });
    const confirmPath = `/dashboard/confirm?token=${token}`;
    const subject =
      purpose === 'registration'
        ? `[mixi Partner Dashboard] Confirm the registration of "${record.name}"`
        : `[mixi Partner Dashboard] Confirm the new inquiry address of "${record.name}"`;
    const text =
      purpose === 'registration'
        ? `Open the link below to confirm this address; the credentials of "${record.name}" are shown once it is confirmed.\n\n${confirmPath}\n`
        : `Open the link below to make this the inquiry address of "${record.name}". Until then the previous address stays in force.\n\n${confirmPath}\n`;
    this.#outbox.push({
      mailId: `mail-${++this.#mailSeq}`,
      serviceId: record.serviceId,
      purpose,
      to,
      subject,
      text,
      confirmationToken: token,
      confirmPath,
      sentAt: this.#clock.now(),
    });
  }

  #dropConfirmations(serviceId: string, purpose?: MailPurpose): void {
    for (const [token, pending] of this.#confirmations) {
      if (pending.serviceId === serviceId && (purpose === undefined || pending.purpose === purpose)) this.#confirmations.delete(token);
    }
  }
}

/** The JSON view of a service record. */
export function viewService(record: ServiceRecord): ServiceView {
  return {
    serviceId: record.serviceId,
    name: record.name,
    description: record.description,
    url: record.url ?? null,
    redirectUrl: record.redirectUrl,
    inquiryEmail: record.inquiryEmail,
    pendingInquiryEmail: record.pendingInquiryEmail ?? null,
    logoFileName: record.logoFileName ?? null,
    status: record.status,
    createdAt: record.createdAt,
    credentials: record.status === 'confirmed' ? { clientId: record.clientId, clientSecret: record.clientSecret } : null,
  };
}

interface CleanServiceInput {
  name: string;
  description: string;
  url: string | undefined;
  redirectUrl: string;
  inquiryEmail: string;
  logoFileName: string | undefined;
}

/**
 * Checks what a developer typed, field by field; the first problem is thrown as an `invalid_input`
 * error naming the field, so the HTML form and the JSON API report it the same way.
 */
export function validateServiceInput(input: ServiceInput): CleanServiceInput {
  const name = requiredText(input.name, 'name', 100);
  const description = requiredText(input.description, 'description', 2000);
  const url = blank(input.url) ? undefined : httpUrl(input.url, 'url');
  const redirectUrl = httpUrl(requiredText(input.redirectUrl, 'redirectUrl', 2000), 'redirectUrl');
  const inquiryEmail = requiredText(input.inquiryEmail, 'inquiryEmail', 254);
  if (!EMAIL.test(inquiryEmail)) throw new EmulatorError('invalid_input', 'inquiryEmail is not an e-mail address', { field: 'inquiryEmail' });
  let logoFileName: string | undefined;
  if (!blank(input.logoFileName)) {
    logoFileName = requiredText(input.logoFileName, 'logoFileName', 255);
    if (!LOGO.test(logoFileName) || /[\\/]/.test(logoFileName)) {
      throw new EmulatorError('invalid_input', 'logoFileName must be a .png, .jpg or .gif file name', { field: 'logoFileName' });
    }
  }
  return { name, description, url, redirectUrl, inquiryEmail, logoFileName };
}

/** Optional fields left empty (an HTML form sends "" for an untouched input). */
function blank(value: unknown): boolean {
  return value === undefined || (typeof value === 'string' && value.trim() === '');
}

function requiredText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') throw new EmulatorError('invalid_input', `${field} is required`, { field });
  const text = value.trim();
  if (text.length > max) throw new EmulatorError('invalid_input', `${field} is longer than ${max} characters`, { field });
  // Control characters have no business in a dashboard field and would garble mails and headers.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) {
    throw new EmulatorError('invalid_input', `${field} contains control characters`, { field });
  }
  return text;
}

function httpUrl(value: unknown, field: string): string {
  const text = requiredText(value, field, 2000);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new EmulatorError('invalid_input', `${field} is not an absolute URL`, { field });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new EmulatorError('invalid_input', `${field} must be an http or https URL`, { field });
  }
  if (parsed.hash !== '' || text.includes('#')) throw new EmulatorError('invalid_input', `${field} must not have a fragment`, { field });
  return text;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
