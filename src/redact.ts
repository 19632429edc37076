/**
 * The one redaction of everything the monitor writes (log lines, errors, state.json, status and
 * wrapper output, notification bodies). A leaf: imports nothing, so every layer may use it.
 *
 * Two defences, applied together by `redactText`:
 * - by shape: every URL in the text loses its userinfo (`***@`), its query values (keys are kept:
 *   `?token=***`), its fragment, and its opaque path segments (`/hook/***`); Slack and Discord
 *   webhook URLs lose everything after `/services/` and `/api/webhooks/`.
 * - by value: the secret parts of the loaded config (notify URLs, their header values, health URL
 *   passwords and query values) are remembered at load and scrubbed wherever they appear, even
 *   outside a URL (an error message quoting a token).
 * - by name: a value assigned to a name that says it is secret, as environments and command lines
 *   write them (`API_TOKEN=abc`, `--api-token=abc`, `--password abc`, `Authorization: Bearer abc`):
 *   the monitor never saw such a value, but it quotes command lines (a killed port holder's).
 */

export const REDACTED = '***';

/**
 * `webhook`: a notify target's URL, where the token may be any segment after the first: keep the
 * scheme, host and first path segment only. `generic`: a health URL or a URL met in free text:
 * keep the readable path, drop what looks like a token.
 */
export type UrlKind = 'generic' | 'webhook';

/** scheme://authority path ?query #fragment; the scheme and `//` are optional (a mistyped URL). */
const URL_PARTS = /^(?:([a-z][a-z0-9+.-]*:)?\/\/)?([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/is;

/** A URL in free text: a scheme, `://`, then up to whitespace or a quote. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`\\]+/gi;

/** Slack's and Discord's webhook paths: everything after the marker is the token. */
const WEBHOOK_PATHS: readonly { readonly host: RegExp; readonly after: string }[] = [
  { host: /(^|\.)slack\.com$/i, after: 'services' },
  { host: /(^|\.)discord(app)?\.com$/i, after: 'webhooks' },
];

/**
 * A path segment that looks like a token, not a word: 8+ characters mixing letters and digits,
 * 16+ digits, or 20+ characters that are not plain words joined by `-`, `_` or `.`.
 * `/health`, `/api/v1/status` and `/very-long-health-endpoint` stay readable.
 */
export function looksOpaque(segment: string): boolean {
  if (segment.length >= 8 && /\d/.test(segment) && /[a-z]/i.test(segment)) return true;
  if (/^\d{16,}$/.test(segment)) return true;
  return segment.length >= 20 && !/^[a-z]{1,12}(?:[-_.][a-z]{1,12})*$/i.test(segment);
}

/**
 * A URL safe to print. Userinfo becomes `***@`, query values `***` (keys kept), a fragment `#***`.
 * `webhook`: the path after its first segment becomes `/***`; `generic`: opaque segments become
 * `***` and Slack/Discord webhook tokens are dropped.
 *
 * - `https://hooks.slack.com/services/T0/B0/XXXX`  -> `https://hooks.slack.com/services/***`
 * - `http://u:pw@127.0.0.1:5000/health?token=abc` -> `http://***@127.0.0.1:5000/health?token=***`
 * - webhook `http://127.0.0.1:9000/json/x?k=v`    -> `http://127.0.0.1:9000/json/***?k=***`
 * - webhook `hooks.slack.com/services/T/B/X` (no scheme) -> `hooks.slack.com/services/***`
 */
export function redactUrl(url: string, kind: UrlKind = 'webhook'): string {
  const m = URL_PARTS.exec(url);
  if (!m) return REDACTED;
  const [, scheme, authority = '', path = '', query, fragment] = m;
  const hasSlashes = scheme !== undefined || url.startsWith('//');
  // Without a scheme the "authority" may be anything, a bare token included: keep it only when
  // a path follows it (`host/first/...`), as a typo of a real URL does.
  if (!hasSlashes && kind === 'webhook' && path === '') return REDACTED;
  const at = authority.lastIndexOf('@');
  const host = at >= 0 ? `${REDACTED}@${authority.slice(at + 1)}` : authority;
  const head = `${scheme ?? ''}${hasSlashes ? '//' : ''}${host}`;
  return `${head}${redactPath(path, host, kind)}${redactQuery(query)}${fragment && fragment.length > 1 ? `#${REDACTED}` : (fragment ?? '')}`;
}

function redactPath(path: string, host: string, kind: UrlKind): string {
  const segments = path.split('/');
  // segments[0] is '' (the path starts with '/') or the whole path of a schemeless value.
  if (kind === 'webhook') {
    const keep = segments[0] === '' ? 2 : 1;
    return segments.length > keep ? `${segments.slice(0, keep).join('/')}/${REDACTED}` : path;
  }
  const hostname = host.replace(/^.*@/, '').replace(/:\d*$/, '');
  const marker = WEBHOOK_PATHS.find((w) => w.host.test(hostname))?.after;
  const cut = marker === undefined ? -1 : segments.findIndex((s) => s.toLowerCase() === marker);
  if (cut >= 0 && cut < segments.length - 1) return `${segments.slice(0, cut + 1).join('/')}/${REDACTED}`;
  return segments.map((s) => (looksOpaque(safeDecode(s)) ? REDACTED : s)).join('/');
}

function redactQuery(query: string | undefined): string {
  if (query === undefined || query === '?') return query ?? '';
  const parts = query.slice(1).split('&').map((p) => {
    if (p === '') return p;
    const eq = p.indexOf('=');
    return eq >= 0 ? `${p.slice(0, eq)}=${REDACTED}` : REDACTED;
  });
  return `?${parts.join('&')}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---- secrets remembered from the config ---------------------------------------------------------

/** Secret -> what replaces it. Bounded: a monitor reloading rotated tokens for months stays small. */
const known = new Map<string, string>();
let knownSorted: [string, string][] = [];
const KNOWN_MAX = 1000;
/** Shorter values would scrub ordinary words. */
const MIN_SECRET = 6;

/** Header names whose values are secrets (case-insensitive, matched anywhere in the name). */
const SECRET_HEADER = /auth|token|key|secret|pass|cookie|session|signature|credential|sig$/i;

/** True when a header's value must not be shown. */
export function isSecretHeader(name: string): boolean {
  return SECRET_HEADER.test(name);
}

/**
 * A copy of `headers` safe to print: the values of Authorization, Cookie and any header whose
 * name contains token, key, secret, pass, session, signature or credential become `***`.
 */
export function redactHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) out[name] = isSecretHeader(name) ? REDACTED : value;
  return out;
}

/**
 * The secret parts of a target, to scrub from free text: the whole URL, its path after the first
 * segment and each such segment, its query and each value, its fragment, its userinfo, and every
 * header value (and each word of it: "Bearer abc" may be echoed as "abc"). Longest first, 4+ chars.
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
    for (const part of v.split(/\s+/)) out.add(part);
  }
  return [...out].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

/** Replace every occurrence of each secret in `text` with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

function remember(secret: string, replacement: string = REDACTED): void {
  if (secret.length < MIN_SECRET || secret === replacement) return;
  if (known.get(secret) === replacement) return;
  known.delete(secret);
  known.set(secret, replacement);
  while (known.size > KNOWN_MAX) known.delete(known.keys().next().value as string);
  knownSorted = [...known].sort((a, b) => b[0].length - a[0].length);
}

/** A URL's secret parts: its password, query values, fragment and opaque (or all: webhook) path segments after the first. */
function rememberUrl(url: string, kind: UrlKind): void {
  remember(url, redactUrl(url, kind));
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return;
  }
  if (u.href !== url) remember(u.href, redactUrl(u.href, kind));
  if (u.password) remember(safeDecode(u.password));
  // In a URL every query value is hidden; as free text only those that look secret, so a plain
  // `?check=database` does not scrub the word "database" from every log line.
  for (const [k, v] of u.searchParams) if (isSecretHeader(k) || looksOpaque(v)) remember(v);
  if (u.hash.length > 1) remember(u.hash.slice(1));
  const segments = u.pathname.split('/').slice(2).map(safeDecode);
  // Echoed alone, a segment is scrubbed only when it looks like a token (or is long, for a
  // webhook): a plain `/api/notify` must not scrub the word "notify" from every line.
  const secret = (seg: string): boolean => looksOpaque(seg) || (kind === 'webhook' && seg.length >= 16);
  for (const s of segments) if (secret(s)) remember(s);
  if (segments.length > 1 && segments.some(secret)) remember(segments.join('/'));
}

/** Standard headers whose values are never secrets (and are common words in logs). */
const PLAIN_HEADERS = new Set(['content-type', 'accept', 'accept-language', 'content-language', 'user-agent']);

/** What of a config holds secrets (structural, so this leaf needs no config types). */
export interface SecretBearingConfig {
  /** Webhooks carry a url (and headers); email entries neither (their password is read at run time). */
  readonly notify: readonly { readonly format?: string; readonly url?: string | undefined; readonly headers?: Readonly<Record<string, string>> | undefined }[];
  readonly apps: readonly { readonly health: { readonly url?: string | undefined } }[];
}

/**
 * Remember a loaded config's secrets, so `redactText` scrubs them wherever they appear. Called
 * on every successful load; old values stay remembered (a rotated token is still a secret).
 */
export function rememberConfigSecrets(config: SecretBearingConfig): void {
  for (const target of config.notify) {
    if (target.url !== undefined) rememberUrl(target.url, 'webhook');
    for (const [name, value] of Object.entries(target.headers ?? {})) {
      if (PLAIN_HEADERS.has(name.toLowerCase())) continue;
      remember(value);
      // "Bearer abc...": the credential alone may be echoed too
      for (const word of value.split(/\s+/).slice(1)) remember(word);
    }
  }
  for (const app of config.apps) if (app.health.url) rememberUrl(app.health.url, 'generic');
}

/** Remember one secret read at run time (a database password), so redactText scrubs it. */
export function rememberSecret(value: string): void {
  remember(value);
}

/** Forget every remembered secret (tests). */
export function forgetSecrets(): void {
  known.clear();
  knownSorted = [];
}

// ---- the one function --------------------------------------------------------------------------

/**
 * A name that says its value is secret (`API_TOKEN`, `db.password`, `x-api-key`); `PWD` (the
 * working directory) is not one.
 */
const SECRET_NAME = String.raw`[A-Za-z0-9_.-]*(?:password|passwd|passphrase|token|secret|api[_-]?key|access[_-]?key|private[_-]?key|authorization|credentials?)`;
/**
 * `NAME=value`, `NAME: value`, `--name=value`. An unquoted value ends at whitespace, `&` (a URL's
 * next query key), a quote, or a closing bracket (`(node w.js --token=abc), not the app`): tokens
 * are base64, hex or URL-safe text, and the sentence around the value must stay readable.
 */
const ASSIGNED = new RegExp(String.raw`\b(${SECRET_NAME})(\s*[:=]\s*)(bearer\s+|basic\s+)?("[^"]*"|'[^']*'|[^\s&"',;)\]}]+)`, 'gi');
/** `--name value` (a flag whose value is the next word). */
const FLAG_VALUE = new RegExp(String.raw`(^|\s)(--?${SECRET_NAME})(\s+)("[^"]*"|'[^']*'|[^\s-]\S*)`, 'gi');
const MAY_NAME_SECRET = /pass|token|secret|key|auth|credential/i;

/** Values under secret names (see the file header) become `***`; the names stay. */
function redactAssigned(text: string): string {
  if (!MAY_NAME_SECRET.test(text)) return text;
  return text
    .replace(ASSIGNED, (_m, name: string, sep: string, scheme: string | undefined) => `${name}${sep}${scheme ?? ''}${REDACTED}`)
    .replace(FLAG_VALUE, (_m, lead: string, name: string, sep: string) => `${lead}${name}${sep}${REDACTED}`);
}

/** Trailing characters that end a sentence rather than a URL. */
const TRAILING = /[).,;:!?\]}]+$/;

/** `text` with remembered secrets scrubbed, secret-named values hidden and every URL in it redacted (see the file header). */
export function redactText(text: string): string {
  let out = text;
  for (const [secret, replacement] of knownSorted) if (out.includes(secret)) out = out.split(secret).join(replacement);
  out = redactAssigned(out);
  if (!out.includes('://')) return out;
  return out.replace(URL_IN_TEXT, (match) => {
    const tail = TRAILING.exec(match)?.[0] ?? '';
    const url = tail ? match.slice(0, -tail.length) : match;
    return `${redactUrl(url, 'generic')}${tail}`;
  });
}

/**
 * A copy of `value` with every string redacted (object keys too: an app named by a URL is rare
 * but possible). Plain objects and arrays are walked; anything else is returned as is.
 */
export function redactDeep<T>(value: T): T {
  return walk(value, 0) as T;
}

function walk(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 20 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // defineProperty: a key named __proto__ stays data, never a prototype
    Object.defineProperty(out, redactText(k), { value: walk(v, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * A config value quoted by a config error, redacted by where it sits: anything under a `headers`
 * key is `***`, a notify target's `url` is a webhook URL, any other `url` a generic one, and every
 * other string is redacted as text. Objects and arrays are walked with their keys.
 */
export function redactConfigValue(path: readonly PropertyKey[], value: unknown): unknown {
  const keys = path.map(String);
  // Anything under a password key (a password_env holding the password itself, say) is not echoed.
  if (keys.includes('headers') || keys.some((k) => /^password/.test(k))) return REDACTED;
  if (typeof value === 'string') {
    if (keys[keys.length - 1] === 'url') return redactUrl(value, keys.includes('notify') ? 'webhook' : 'generic');
    return redactText(value);
  }
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v, i) => redactConfigValue([...path, i], v));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, redactText(k), { value: redactConfigValue([...path, k], v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
