/**
 * The HTTP server's optional token: `Authorization: Bearer <token>`, or HTTP Basic with the token
 * as the password (any user name: a browser asks for both). Compared in constant time: both
 * sides are hashed first, so neither the length nor a common prefix shows in the timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type AuthResult = 'ok' | 'missing' | 'wrong';

const digest = (b: Buffer | string): Buffer => createHash('sha256').update(b).digest();

/** Judge a request's Authorization header against the token (no token: everyone is let in). */
export function checkAuth(header: string | undefined, token: Buffer | undefined): AuthResult {
  if (!token) return 'ok';
  const offered = offeredToken(header);
  if (offered === undefined) return 'missing';
  return timingSafeEqual(digest(offered), digest(token)) ? 'ok' : 'wrong';
}

/** The token a header offers, from either scheme; undefined when there is none. */
export function offeredToken(header: string | undefined): Buffer | undefined {
  if (!header) return undefined;
  const m = /^\s*(Bearer|Basic)\s+(\S+)\s*$/i.exec(header);
  if (!m) return undefined;
  const [, scheme, value] = m as unknown as [string, string, string];
  if (scheme.toLowerCase() === 'bearer') return Buffer.from(value, 'utf8');
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : Buffer.from(decoded.slice(colon + 1), 'utf8');
}

/** Sent with a 401: a browser shows its password prompt, a script knows to send a bearer token. */
export const CHALLENGE = 'Basic realm="helpdesk-monitor", charset="UTF-8"';
