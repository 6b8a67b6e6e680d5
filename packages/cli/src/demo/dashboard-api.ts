import type { OutboxMailView, ServiceView } from '@tokenvault/mixi-emulator';
import { CliError } from '../cli-errors';

/** A service as the demo registers it (the seed's mandatory fields). */
export interface ServiceForm {
  readonly name: string;
  readonly description: string;
  readonly url?: string;
  readonly redirectUrl: string;
  readonly inquiryEmail: string;
}

/**
 * The emulator's Partner Dashboard JSON API (`/dashboard/api/…`) over HTTP: what a developer does on the
 * dashboard page, done by a program. Used by the demo; errors name the step and the dashboard's own
 * description.
 */
export class DashboardApi {
  readonly #base: string;

  /** @param baseUrl the emulator's base URL, e.g. `http://127.0.0.1:8787` */
  constructor(baseUrl: string) {
    this.#base = baseUrl.replace(/\/+$/, '');
  }

  /** "Add new services": registers it unconfirmed (「※未確認」); a confirmation mail goes to the inquiry address. */
  registerService(form: ServiceForm): Promise<ServiceView> {
    return this.#json('registering the service', 'POST', '/dashboard/api/services', form);
  }

  /** The mails sent to `to`, oldest first. */
  async outbox(to: string): Promise<readonly OutboxMailView[]> {
    const { mails } = await this.#json<{ mails: OutboxMailView[] }>('reading the outbox', 'GET', `/dashboard/api/outbox?to=${encodeURIComponent(to)}`);
    return mails;
  }

  /** Opens a link from a mail, as the developer clicking it would (the HTML confirmation page). */
  async follow(link: string): Promise<void> {
    const res = await fetch(link, { redirect: 'manual' });
    await res.arrayBuffer();
    if (res.status !== 200) throw new CliError(`the dashboard answered ${res.status} to the confirmation link`);
  }

  /** A service, with its credentials once confirmed. */
  service(serviceId: string): Promise<ServiceView> {
    return this.#json('reading the service', 'GET', `/dashboard/api/services/${encodeURIComponent(serviceId)}`);
  }

  /** "Re-issue": a new ConsumerSecret replaces the old one at once. */
  reissueSecret(serviceId: string): Promise<ServiceView> {
    return this.#json('re-issuing the ConsumerSecret', 'POST', `/dashboard/api/services/${encodeURIComponent(serviceId)}/secret`);
  }

  async #json<T>(step: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.#base}${path}`, {
      method,
      ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const answer = (await res.json().catch(() => ({}))) as T & { error_description?: string };
    if (!res.ok) throw new CliError(`the dashboard answered ${res.status} when ${step}${answer.error_description ? `: ${answer.error_description}` : ''}`);
    return answer;
  }
}
