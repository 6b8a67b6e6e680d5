import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { EmulatorError, type EmulatorErrorCode } from '../emulator-error';
import { json } from './http-kit';

const STATUS: Record<EmulatorErrorCode, { status: ContentfulStatusCode; error: string }> = {
  invalid_option: { status: 400, error: 'invalid_request' },
  invalid_input: { status: 400, error: 'invalid_request' },
  unknown_service: { status: 404, error: 'not_found' },
  unknown_user: { status: 404, error: 'not_found' },
  unknown_grant: { status: 404, error: 'not_found' },
  unknown_confirmation: { status: 404, error: 'not_found' },
  service_unconfirmed: { status: 409, error: 'conflict' },
  duplicate_user: { status: 409, error: 'conflict' },
  control_not_loopback: { status: 403, error: 'forbidden' },
  random_exhausted: { status: 503, error: 'temporarily_unavailable' },
};

/** The HTTP status an {@link EmulatorError} maps to. */
export function statusOf(error: EmulatorError): ContentfulStatusCode {
  return STATUS[error.code].status;
}

/**
 * Runs a JSON API handler and turns the emulator's own errors into JSON answers
 * (`{"error","error_description","field"}`) with a fitting status; anything else is a bug and is
 * left to the app's error handler.
 */
export async function jsonApi(handler: () => Response | Promise<Response>): Promise<Response> {
  try {
    return await handler();
  } catch (error) {
    if (!(error instanceof EmulatorError)) throw error;
    const { status, error: code } = STATUS[error.code];
    return json({ error: code, error_description: error.message, ...(error.field ? { field: error.field } : {}) }, status);
  }
}
