/**
 * The push webhook of git auto-update: `POST /hooks/update/<app>`, signed like GitHub's
 * (`X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw body with a shared secret).
 * It only asks for an update check of the app's repo: nothing in the body is read but its bytes
 * for the signature, so a caller cannot choose a commit or a command.
 *
 * The signature is checked before the app name is looked up, so an unsigned caller learns
 * nothing about which apps exist. Everything is bounded: the body (413), the time to send the
 * headers and the request, idle keep-alive, the number of connections and headers, and close().
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HelpdeskError, describeError } from '../errors.js';
import { bracketed, hangUp, listenBounded, type Listening } from '../net/listen.js';

export type TriggerAnswer =
  | { readonly result: 'started' } // an update check (fetch) was started or queued
  | { readonly result: 'in_progress' } // an update of this app's repo is running now
  | { readonly result: 'unknown_app' }; // no app with update: of that name

export interface WebhookOptions {
  readonly host: string;
  /** 0: any free port (tests). */
  readonly port: number;
  /** Never logged. */
  readonly secret: Buffer;
  readonly maxBodyBytes: number;
  /** A synchronous decision; the fetch itself runs in the background. */
  readonly trigger: (app: string) => TriggerAnswer;
  readonly log?: (level: 'info' | 'warn', message: string) => void;
}

/** The listening webhook (url, close within 2 s). */
export type WebhookServer = Listening;

const HOOK_PATH = /^\/hooks\/update\/([^/]*)$/;
const APP_NAME = /^[A-Za-z0-9_.@-]{1,100}$/;
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;
/** GitHub's delivery id (a UUID): logged so a line can be matched to the delivery page. */
const DELIVERY = /^[0-9A-Za-z-]{1,64}$/;

/** Constant-time check of `X-Hub-Signature-256: sha256=<hex>` against HMAC-SHA256(secret, body). */
export function signatureValid(body: Buffer, header: string | undefined, secret: Buffer): boolean {
  if (typeof header !== 'string') return false;
  const m = SIGNATURE.exec(header);
  if (!m) return false;
  const given = Buffer.from(m[1]!, 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface Verdict {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  /** For the log line: started, bad_signature, not_found... */
  readonly result: string;
  /** Answered before the body was read: the connection is closed, not kept for another request. */
  readonly hangUp?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
  readonly level?: 'info' | 'warn';
  readonly detail?: string;
}

const NOT_FOUND: Verdict = { status: 404, body: { ok: false, error: 'not found' }, result: 'not_found', hangUp: true };

export function startWebhook(options: WebhookOptions): Promise<WebhookServer> {
  const where = `${bracketed(options.host)}:${options.port}`;
  // An empty key makes every signature computable by anyone; readSecret refuses short ones too.
  if (options.secret.length === 0) return Promise.reject(new HelpdeskError(`update webhook on ${where}: the secret is empty`));
  if (!Number.isSafeInteger(options.maxBodyBytes) || options.maxBodyBytes < 1) {
    return Promise.reject(new HelpdeskError(`update webhook on ${where}: maxBodyBytes must be a positive integer (got ${options.maxBodyBytes})`));
  }
  const log = options.log ?? ((): void => undefined);
  return listenBounded(
    { host: options.host, port: options.port, what: 'update webhook', maxConnections: 32, onError: (m) => log('warn', m) },
    (req, res) => handle(req, res, options, log),
  );
}

function handle(req: IncomingMessage, res: ServerResponse, options: WebhookOptions, log: NonNullable<WebhookOptions['log']>): void {
  const socket = req.socket;
  // A client that goes away mid-body: no verdict, nothing to answer, and no unhandled 'error'.
  req.on('error', () => undefined);
  const path = (req.url ?? '').split('?', 1)[0] ?? '';
  const m = HOOK_PATH.exec(path);
  const app = m ? appName(m[1]!) : undefined;
  const answer = (v: Verdict): void => {
    const text = JSON.stringify(v.body);
    res.writeHead(v.status, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Content-Length': String(Buffer.byteLength(text)),
      ...(v.hangUp ? { Connection: 'close' } : {}),
      ...v.headers,
    });
    // Answered with a body still unread: hang up once the answer is out, rather than read on.
    if (v.hangUp) res.once('finish', () => hangUp(socket));
    res.end(text);
    const who = app === undefined ? `path ${JSON.stringify(path.slice(0, 120))}` : `app ${app}`;
    const delivery = req.headers['x-github-delivery'];
    const id = typeof delivery === 'string' && DELIVERY.test(delivery) ? `, delivery ${delivery}` : '';
    log(v.level ?? 'info', `update webhook: ${req.method ?? '?'} ${who}: ${v.status} ${v.result}${v.detail ? ` (${v.detail})` : ''}, from ${socket.remoteAddress ?? 'unknown'}${id}`);
  };

  if (app === undefined) return answer(NOT_FOUND);
  if (req.method !== 'POST') {
    return answer({ status: 405, body: { ok: false, error: 'method not allowed' }, result: 'method_not_allowed', hangUp: true, headers: { Allow: 'POST' } });
  }
  const tooLarge: Verdict = { status: 413, body: { ok: false, error: 'body too large' }, result: 'body_too_large', hangUp: true, detail: `limit ${options.maxBodyBytes} bytes` };
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > options.maxBodyBytes) return answer(tooLarge);

  const chunks: Buffer[] = [];
  let total = 0;
  const onData = (chunk: Buffer): void => {
    total += chunk.length;
    if (total <= options.maxBodyBytes) {
      chunks.push(chunk);
      return;
    }
    req.off('data', onData);
    req.off('end', onEnd);
    req.pause();
    chunks.length = 0;
    answer(tooLarge);
  };
  const onEnd = (): void => answer(decide(app, Buffer.concat(chunks, total), req, options));
  req.on('data', onData);
  req.on('end', onEnd);
}

/** The verdict on a whole body: signature first, then a ping, then the trigger's answer. */
function decide(app: string, body: Buffer, req: IncomingMessage, options: WebhookOptions): Verdict {
  const header = req.headers['x-hub-signature-256'];
  if (!signatureValid(body, typeof header === 'string' ? header : undefined, options.secret)) {
    return { status: 401, body: { ok: false, error: 'bad signature' }, result: 'bad_signature', level: 'warn', detail: header === undefined ? 'no X-Hub-Signature-256' : 'signature does not match' };
  }
  // GitHub sends a ping when the hook is created: answer it, but it is not a push.
  if (req.headers['x-github-event'] === 'ping') return { status: 200, body: { ok: true, result: 'pong' }, result: 'pong' };
  let answer: TriggerAnswer;
  try {
    answer = options.trigger(app);
  } catch (err) {
    return { status: 500, body: { ok: false, error: 'internal error' }, result: 'error', level: 'warn', detail: describeError(err) };
  }
  switch (answer.result) {
    case 'started':
      return { status: 202, body: { ok: true, result: 'started' }, result: 'started' };
    case 'in_progress':
      return { status: 409, body: { ok: false, result: 'in_progress', error: 'update in progress' }, result: 'in_progress' };
    case 'unknown_app':
      return { status: 404, body: { ok: false, result: 'unknown_app', error: 'no app with update of that name' }, result: 'unknown_app' };
  }
  // Only a caller outside the type system gets here.
  return { status: 500, body: { ok: false, error: 'internal error' }, result: 'error', level: 'warn', detail: 'unexpected trigger answer' };
}

/** The app named by a path segment, URL-decoded; undefined when it is not a plausible app name. */
function appName(segment: string): string | undefined {
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  return APP_NAME.test(name) ? name : undefined;
}
