/**
 * The HTTP probe: one GET with a hard deadline over the whole answer, body included (a SIGSTOPped
 * app still accepts TCP, so only a response deadline notices it), an expected status, a body cap
 * and no redirects unless allowed. Connections are kept alive: a probe every second should not
 * cost a handshake each time.
 *
 * Plain node:http, not a client library: the probe runs for every app every interval, and axios
 * cost about 2.6x node:http per GET (config merging, header objects, its transform pipeline,
 * follow-redirects wrapping) for features a probe does not use; `npm run bench:probe` measures
 * it. What axios did for us is re-done here, with its failure names and wording kept:
 * - the deadline is our own timer over the whole answer (a socket idle timeout restarts on every
 *   byte, so a /health trickling one byte every 500 ms would never time out); at the deadline the
 *   request and its socket are destroyed, so a trickle cannot keep a pooled connection busy;
 * - the body is counted, not kept: past max_body the answer is `body-too-large` and dropped;
 * - redirects (only when allowed) are followed up to 5 hops, as follow-redirects did.
 *
 * The hot path allocates what the request needs and no more: the request options of each URL are
 * built once (agent, shared headers) and reused; nothing is merged per call.
 */
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import { urlToHttpOptions } from 'node:url';
import type { HealthConfig } from '../config/schema.js';
import type { HttpFailure, HttpOutcome } from './types.js';

export interface HttpProber {
  probe(health: HealthConfig, signal?: AbortSignal): Promise<HttpOutcome>;
  close(): void;
}

/** Hops followed when a check allows redirects (follow-redirects' limit as axios was given it). */
const MAX_REDIRECTS = 5;
/**
 * Sent with every probe. No Accept-Encoding: the body is only counted, so there is nothing to gain
 * from compression, and max_body then counts the bytes the app sent.
 */
const HEADERS = Object.freeze({ 'User-Agent': 'helpdesk-monitor', Accept: '*/*' });
/** URLs whose request options are kept; a config reload may bring new ones, so the cache is bounded. */
const MAX_TARGETS = 1024;
const ONCE = Object.freeze({ once: true });
const noop = (): void => {};

interface Agents {
  readonly http: http.Agent;
  /** Made at the first https URL: node:https brings TLS and crypto (a few MiB of RSS) that plain http apps never need. */
  https(): https.Agent;
}

const requireBuiltin = createRequire(import.meta.url);
let httpsModule: typeof https | undefined;
/** node:https, loaded on first use. */
const httpsLib = (): typeof https => (httpsModule ??= requireBuiltin('node:https') as typeof https);

/** Make a prober that shares keep-alive agents across all apps. */
export function createHttpProber(now: () => number = () => performance.now()): HttpProber {
  let httpsAgent: https.Agent | undefined;
  const agents: Agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 2, timeout: 30_000 }),
    https: () => (httpsAgent ??= new (httpsLib().Agent)({ keepAlive: true, maxSockets: 4, maxFreeSockets: 2, timeout: 30_000 })),
  };
  const targets = new Map<string, RequestOptions>();
  /** The request options of a probed URL, built once (throws on a URL that cannot be probed). */
  const target = (url: string): RequestOptions => {
    let options = targets.get(url);
    if (!options) {
      options = requestOptions(new URL(url), agents, 'ERR_BAD_REQUEST', 'Unsupported protocol ');
      if (targets.size >= MAX_TARGETS) targets.clear();
      targets.set(url, options);
    }
    return options;
  };
  return {
    probe(health, signal) {
      if (!health.url) return Promise.resolve({ ok: true, status: 0, latencyMs: 0 });
      return probeOnce(health, health.url, signal, now, target, agents);
    },
    close() {
      agents.http.destroy();
      httpsAgent?.destroy();
    },
  };
}

/** Options for one URL; an unsupported scheme throws an error with `code` (axios' words). */
function requestOptions(url: URL, agents: Agents, code: string, prefix: string): RequestOptions {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw Object.assign(new Error(`${prefix}${url.protocol}`), { code });
  return { ...urlToHttpOptions(url), agent: url.protocol === 'https:' ? agents.https() : agents.http, headers: HEADERS };
}

/** One probe: settles exactly once, at the answer's end, a failure, the deadline or an abort. */
function probeOnce(
  health: HealthConfig,
  url: string,
  signal: AbortSignal | undefined,
  now: () => number,
  target: (url: string) => RequestOptions,
  agents: Agents,
): Promise<HttpOutcome> {
  const started = now();
  if (signal?.aborted) return Promise.resolve(failure('timeout', 'aborted before it started', now() - started));
  return new Promise<HttpOutcome>((resolve) => {
    let done = false;
    let req: ClientRequest | undefined;
    /** Redirect answers being drained: dropped at the end if still arriving. */
    let hops: IncomingMessage[] | undefined;
    let redirects = 0;
    let bytes = 0;
    let current = url;

    const settle = (outcome: HttpOutcome, destroy: boolean): void => {
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Past the deadline, on an abort or an oversized body the request goes with its socket.
      if (destroy) req?.destroy();
      if (hops) for (const hop of hops) if (!hop.complete) hop.destroy();
      resolve(outcome);
    };
    const fail = (kind: HttpFailure, detail: string, status?: number): void => {
      if (done) return;
      settle(failure(kind, detail, now() - started, status), true);
    };
    const onAbort = (): void => fail('timeout', 'aborted');
    const onError = (err: unknown): void => {
      if (done) return;
      const c = classify(err, health);
      fail(c.failure, c.detail);
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > health.maxBodyBytes) fail('body-too-large', `body larger than max_body (${health.maxBodyBytes} bytes)`);
    };
    const onResponse = (res: IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (done) {
        res.on('error', noop).destroy();
      } else if (health.followRedirects && location && status >= 300 && status < 400) {
        // The hop's body is drained so its socket goes back to the pool.
        res.on('error', noop).resume();
        (hops ??= []).push(res);
        redirect(location);
      } else {
        res.on('error', (err: NodeJS.ErrnoException) => {
          // The app closed the connection mid-body: axios called this an aborted stream.
          onError(err.code === 'ECONNRESET' && err.message === 'aborted' ? { code: 'ERR_BAD_RESPONSE', message: 'stream has been aborted' } : err);
        });
        res.on('data', onData);
        res.on('end', () => {
          if (done) return;
          const latencyMs = now() - started;
          if (health.expectStatus.includes(status)) return settle({ ok: true, status, latencyMs }, false);
          settle(failure('status', `HTTP ${status}, expected ${health.expectStatus.join(' or ')}`, latencyMs, status), false);
        });
      }
    };
    const send = (options: RequestOptions): void => {
      req = (options.protocol === 'https:' ? httpsLib() : http).request(options, onResponse);
      req.on('error', onError);
      req.end();
    };
    const redirect = (location: string): void => {
      if (++redirects > MAX_REDIRECTS) return onError({ code: 'ERR_FR_TOO_MANY_REDIRECTS', message: 'Maximum number of redirects exceeded' });
      try {
        const next = new URL(location, current);
        current = next.href;
        send(requestOptions(next, agents, 'ERR_FR_REDIRECTION_FAILURE', 'Redirected request failed: Unsupported protocol '));
      } catch (err) {
        const e = err as { code?: string; message?: string };
        onError(e.code === 'ERR_INVALID_URL' ? { code: 'ERR_FR_REDIRECTION_FAILURE', message: 'Redirected request failed: Invalid URL' } : err);
      }
    };

    const timer = setTimeout(() => fail('timeout', `no answer within ${Math.round(health.timeoutMs)} ms`), timerMs(health.timeoutMs));
    signal?.addEventListener('abort', onAbort, ONCE);
    try {
      send(target(url));
    } catch (err) {
      onError(err);
    }
  });
}

function failure(kind: HttpFailure, detail: string, latencyMs: number, status?: number): HttpOutcome {
  return status === undefined ? { ok: false, failure: kind, latencyMs, detail } : { ok: false, failure: kind, status, latencyMs, detail };
}

/** A delay setTimeout takes as given (it turns NaN or more than ~24.8 days into 1 ms). */
function timerMs(ms: number): number {
  return Number.isNaN(ms) ? 0 : Math.min(Math.max(0, ms), 2_147_483_647);
}

/** A request error in the words the probe has always used (axios' code and message). */
function classify(err: unknown, health: HealthConfig): { failure: 'timeout' | 'refused' | 'error'; detail: string } {
  const e = err as { code?: string; message?: string; errors?: unknown };
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT') {
    return { failure: 'timeout', detail: `no answer within ${Math.round(health.timeoutMs)} ms` };
  }
  if (e.code === 'ECONNREFUSED') return { failure: 'refused', detail: 'connection refused' };
  return { failure: 'error', detail: `${e.code ?? 'error'}: ${messageOf(err)}` };
}

/** An error's message; a dual-stack connect failure (AggregateError) has its words in `errors`. */
function messageOf(err: unknown): string {
  const e = err as { message?: string; errors?: unknown };
  if (e.message) return e.message;
  if (Array.isArray(e.errors) && e.errors.length) {
    const joined = e.errors.map((x: { message?: unknown } | undefined) => String(x?.message ?? x ?? '')).filter(Boolean).join('; ');
    return joined || (err as Error).name || 'AggregateError';
  }
  return e.message ?? String(err);
}
