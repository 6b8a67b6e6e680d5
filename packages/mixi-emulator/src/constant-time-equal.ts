import { timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented secret (client secret, password, CSRF token) with the stored one without
 * leaking, through timing, how much of it was right. Only the length can show.
 */
export function constantTimeEqual(presented: string, stored: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(stored);
  return a.length === b.length && timingSafeEqual(a, b);
}
