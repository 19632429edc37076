/**
 * The monitor's own small HTTP server: GET and HEAD only, on loopback unless a token is set.
 * Routes: `/metrics` (Prometheus), `/` (the status page), `/api/status` (the document
 * `status --json` prints), `/healthz` (the monitor itself: always open, it says nothing about the
 * apps). Every answer is built from what the monitor already holds in memory: a request never
 * waits on PM2 or a probe. Limits come from net/listen.ts; the request body is never read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError } from '../errors.js';
import { bracketed, listenBounded, type Listening } from '../net/listen.js';
import { redactDeep } from '../redact.js';
import { CHALLENGE, checkAuth } from './auth.js';
import { PAGE_CSP } from './page.js';

export interface WebRoutes {
  readonly metrics: () => Promise<{ readonly contentType: string; readonly body: string }>;
  readonly page: () => string;
  readonly status: () => unknown;
  readonly healthz: () => Readonly<Record<string, unknown>>;
}

export interface WebOptions {
  readonly host: string;
  readonly port: number;
  /** Absent: no token (loopback only; config/http.ts refuses another address without one). */
  readonly token?: Buffer;
  readonly maxConnections: number;
  readonly routes: WebRoutes;
  readonly log?: (level: 'info' | 'warn', message: string) => void;
}

export type WebServer = Listening;

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
} as const;

/** Every JSON answer is redacted as `status --json` output is: a holder's command line may carry a token. */
const json = (status: number, doc: unknown, headers?: Record<string, string>): Answer => ({
  status, type: 'application/json; charset=utf-8', body: `${JSON.stringify(redactDeep(doc))}\n`, ...(headers ? { headers } : {}),
});

export function startWebServer(options: WebOptions): Promise<WebServer> {
  const log = options.log ?? ((): void => undefined);
  const where = `${bracketed(options.host)}:${options.port}`;
  return listenBounded(
    { host: options.host, port: options.port, what: 'status server', maxConnections: options.maxConnections, onError: (m) => log('warn', m) },
    (req, res) => {
      req.on('error', () => undefined);
      answer(req).then(
        (a) => send(req, res, a),
        (err: unknown) => {
          log('warn', `status server on ${where}: ${req.method ?? '?'} ${pathOf(req)}: ${describeError(err)}`);
          send(req, res, json(500, { ok: false, error: 'internal error' }));
        },
      );
    },
  );

  async function answer(req: IncomingMessage): Promise<Answer> {
    const path = pathOf(req);
    const route = ROUTES.get(path);
    if (!route) return json(404, { ok: false, error: 'not found', routes: [...ROUTES.keys()] });
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { ok: false, error: 'method not allowed' }, { Allow: 'GET, HEAD' });
    if (route !== 'healthz') {
      const auth = checkAuth(req.headers.authorization, options.token);
      if (auth !== 'ok') {
        if (auth === 'wrong') log('warn', `status server: ${req.method} ${path}: wrong token, from ${req.socket.remoteAddress ?? 'unknown'}`);
        return json(401, { ok: false, error: auth === 'missing' ? 'a token is needed (Authorization: Bearer <token>)' : 'wrong token' }, { 'WWW-Authenticate': CHALLENGE });
      }
    }
    const { routes } = options;
    switch (route) {
      case 'metrics': {
        const m = await routes.metrics();
        return { status: 200, type: m.contentType, body: m.body };
      }
      case 'page':
        return { status: 200, type: 'text/html; charset=utf-8', body: routes.page(), headers: { 'Content-Security-Policy': PAGE_CSP } };
      case 'status':
        return json(200, routes.status());
      case 'healthz':
        return json(200, routes.healthz());
    }
  }
}

const ROUTES = new Map<string, 'metrics' | 'page' | 'status' | 'healthz'>([
  ['/', 'page'],
  ['/metrics', 'metrics'],
  ['/api/status', 'status'],
  ['/healthz', 'healthz'],
]);

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '').split('?', 1)[0] ?? '';
}

function send(req: IncomingMessage, res: ServerResponse, a: Answer): void {
  if (res.headersSent) return;
  const body = Buffer.from(a.body, 'utf8');
  res.writeHead(a.status, { ...COMMON_HEADERS, 'Content-Type': a.type, 'Content-Length': String(body.length), ...a.headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}
