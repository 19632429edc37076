/**
 * Redaction for anything the notifier logs. Webhook URLs are credentials: Slack and Discord put
 * the token in the path, others in the query or in user:password@. Header values (Authorization,
 * API keys) likewise.
 */

export const REDACTED = '***';

/**
 * A webhook URL safe to log: scheme, host (with port) and the first path segment are kept;
 * everything after the first segment becomes `/***`, a query or fragment becomes `?***`, and
 * user:password@ is dropped.
 *
 * - `https://hooks.slack.com/services/T000/B000/XXXX` -> `https://hooks.slack.com/services/***`
 * - `https://discord.com/api/webhooks/123/abc`        -> `https://discord.com/api/***`
 * - `http://user:pw@127.0.0.1:9000/hook?token=x`      -> `http://127.0.0.1:9000/hook?***`
 * - `https://example.com/`                            -> `https://example.com/`
 * - not a URL                                         -> `***`
 *
 * The first segment is kept so operators can tell targets apart; a URL whose *first* segment
 * is the secret (`https://host/<token>`) is not protected, so put tokens deeper or in headers.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return REDACTED;
  }
  // Opaque URLs (mailto:, data:) have no host: nothing worth keeping.
  if (!u.host) return `${u.protocol}${REDACTED}`;
  const segments = u.pathname.split('/').slice(1); // pathname always starts with '/'
  const first = segments[0] ?? '';
  const rest = segments.length > 1;
  let out = `${u.protocol}//${u.host}/${first}${rest ? `/${REDACTED}` : ''}`;
  if (u.search || url.includes('?')) out += `?${REDACTED}`;
  else if (u.hash || url.includes('#')) out += `#${REDACTED}`;
  return out;
}

/** Header names whose values are secrets (case-insensitive, matched anywhere in the name). */
const SECRET_HEADER = /auth|token|key|secret|pass|cookie|session|signature|credential|sig$/i;

/** True when a header's value must not be shown. */
export function isSecretHeader(name: string): boolean {
  return SECRET_HEADER.test(name);
}

/**
 * A copy of `headers` safe to log: the values of Authorization, Cookie and any header whose name
 * contains token, key, secret, pass, session, signature or credential become `***`.
 */
export function redactHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) out[name] = isSecretHeader(name) ? REDACTED : value;
  return out;
}

/**
 * The secret parts of a target, to scrub from free text (error messages can echo a URL):
 * the whole URL, its path after the first segment, its query, its userinfo, and every header
 * value of 4 characters or more (short values would scrub ordinary words).
 */
export function secretsOf(url: string, headers?: Readonly<Record<string, string>>): string[] {
  const out = new Set<string>([url]);
  try {
    const u = new URL(url);
    const segments = u.pathname.split('/').slice(1);
    if (segments.length > 1) out.add(segments.slice(1).join('/'));
    for (const s of segments.slice(1)) out.add(s);
    if (u.search) out.add(u.search.slice(1));
    for (const v of u.searchParams.values()) out.add(v);
    if (u.hash) out.add(u.hash.slice(1));
    if (u.username) out.add(u.username);
    if (u.password) out.add(u.password);
    out.add(u.href);
  } catch {
    // not a URL: the whole string is already listed
  }
  for (const v of Object.values(headers ?? {})) {
    out.add(v);
    // "Bearer abc": the token alone may be echoed too
    for (const part of v.split(/\s+/)) out.add(part);
  }
  // Longest first, so a secret containing another is replaced whole.
  return [...out].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

/** Replace every occurrence of each secret in `text` with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}
