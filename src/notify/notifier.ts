/**
 * The notifier: fire-and-forget webhooks.
 *
 * `notify()` formats the event for each matching target, appends it to that target's bounded
 * queue and returns; nothing is awaited and nothing is thrown, so the engine never waits on a
 * chat service. A background pump sends: each target one request at a time (so its messages
 * stay in order), at most `maxInFlight` across targets, each request under a hard deadline of
 * the target's `timeoutMs`. A target that is down only delays its own queue.
 *
 * Outcomes: 2xx = sent. 429, 5xx, network errors and timeouts are retried (`retries` times,
 * exponential backoff from `retryBaseMs` with jitter, or the server's Retry-After, capped).
 * Any other status (3xx, 4xx) is final.
 *
 * Every log line names a target by its redacted URL only (see ../redact.ts); header values and
 * payloads are never logged, error messages are scrubbed of the URL's secret parts, and bodies
 * are redacted like everything else the monitor writes.
 */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import { describeError } from '../errors.js';
import { formatPayload } from './format.js';
import { redactDeep, redactText, redactUrl, scrub, secretsOf } from '../redact.js';
import type {
  Notifier,
  NotifierOptions,
  NotifierStats,
  NotifyEvent,
  NotifyEventType,
  NotifyFormat,
  NotifyTarget,
  PostFn,
  PostResult,
} from './types.js';

export type { Notifier, NotifierOptions, NotifierStats } from './types.js';

const DEFAULTS = {
  retries: 3,
  retryBaseMs: 1000,
  retryMaxMs: 30_000,
  retryAfterMaxMs: 60_000,
  perAppLimit: { max: 10, perMs: 60_000 },
  queueMax: 100,
  maxInFlight: 4,
  closeTimeoutMs: 2000,
} as const;

/** Queue-full warnings for one target are logged at most this often. */
const DROP_LOG_EVERY_MS = 60_000;

interface Job {
  readonly type: NotifyEventType;
  readonly app: string;
  readonly body: string;
  /** Requests made so far. */
  attempts: number;
  /** Clock time before which it must not be sent (retry backoff). */
  readyAt: number;
}

interface TargetState {
  readonly target: NotifyTarget;
  /** The URL as logged. */
  readonly label: string;
  /** Strings scrubbed from error messages before logging. */
  readonly secrets: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  readonly events: ReadonlySet<NotifyEventType> | undefined;
  readonly queue: Job[];
  busy: boolean;
  droppedSinceLog: number;
  lastDropLogAt: number | undefined;
}

interface AppWindow {
  start: number;
  count: number;
  dropped: number;
}

type Outcome =
  | { kind: 'ok'; status: number }
  | { kind: 'retry'; why: string; retryAfterMs?: number }
  | { kind: 'final'; why: string };

/** Build the notifier. With no targets it is a cheap no-op. */
export function createNotifier(options: NotifierOptions): Notifier {
  const { logger, clock } = options;
  const retries = intAtLeast(options.retries, DEFAULTS.retries, 0);
  const retryBaseMs = intAtLeast(options.retryBaseMs, DEFAULTS.retryBaseMs, 0);
  const retryMaxMs = intAtLeast(options.retryMaxMs, DEFAULTS.retryMaxMs, 0);
  const retryAfterMaxMs = intAtLeast(options.retryAfterMaxMs, DEFAULTS.retryAfterMaxMs, 0);
  const limitMax = intAtLeast(options.perAppLimit?.max, DEFAULTS.perAppLimit.max, 0);
  const limitPerMs = intAtLeast(options.perAppLimit?.perMs, DEFAULTS.perAppLimit.perMs, 1);
  const queueMax = intAtLeast(options.queueMax, DEFAULTS.queueMax, 1);
  const maxInFlight = intAtLeast(options.maxInFlight, DEFAULTS.maxInFlight, 1);
  const closeTimeoutMs = intAtLeast(options.closeTimeoutMs, DEFAULTS.closeTimeoutMs, 0);
  const random = options.random ?? Math.random;

  let transport: DefaultTransport | undefined;
  const post: PostFn =
    options.post ??
    ((url, body, headers, timeoutMs, signal) => {
      transport ??= createDefaultTransport(maxInFlight);
      return transport.post(url, body, headers, timeoutMs, signal);
    });

  const states: TargetState[] = options.targets.map((target) => ({
    target,
    label: redactUrl(target.url),
    secrets: secretsOf(target.url, target.headers),
    headers: { 'Content-Type': 'application/json', 'User-Agent': 'helpdesk-monitor', ...target.headers },
    events: target.events.length > 0 ? new Set(target.events) : undefined,
    queue: [],
    busy: false,
    droppedSinceLog: 0,
    lastDropLogAt: undefined,
  }));

  const windows = new Map<string, AppWindow>();
  const controllers = new Set<AbortController>();
  /** The requests in flight (each always resolves). */
  const running = new Set<Promise<void>>();
  const waiters = new Set<() => void>();
  let inFlight = 0;
  let rr = 0;
  let pumpScheduled = false;
  let wakeTimer: NodeJS.Timeout | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let accepting = true;
  let stopped = false;
  let closing: Promise<void> | undefined;
  const counts = { sent: 0, failed: 0, attempts: 0, rateLimited: 0, dropped: 0 };

  // ---- intake -------------------------------------------------------------------------------

  function notify(event: NotifyEvent): void {
    try {
      if (!accepting || states.length === 0) return;
      const matching = states.filter((s) => !s.events || s.events.has(event.type));
      if (matching.length === 0) return;
      if (!admit(event.app)) return;
      const now = clock.now();
      const bodies = new Map<NotifyFormat, string>();
      for (const st of matching) {
        let body = bodies.get(st.target.format);
        if (body === undefined) {
          // A reason or detail may quote a health URL: the chat channel gets the redacted form.
          body = JSON.stringify(redactDeep(formatPayload(st.target.format, event)));
          bodies.set(st.target.format, body);
        }
        if (st.queue.length >= queueMax) {
          st.queue.shift();
          noteDrop(st, now);
        }
        st.queue.push({ type: event.type, app: event.app, body, attempts: 0, readyAt: now });
      }
      schedulePump();
    } catch (err) {
      // Never let a notification hurt the caller.
      safeLog('warn', `notification not queued: ${describeError(err)}`, { app: safeApp(event) });
    }
  }

  /** Per-app fixed window across targets. */
  function admit(app: string): boolean {
    const now = clock.now();
    let w = windows.get(app);
    if (w && now - w.start >= limitPerMs) {
      reportWindow(app, w);
      w = undefined;
    }
    if (!w) {
      w = { start: now, count: 0, dropped: 0 };
      windows.set(app, w);
    }
    if (w.count < limitMax) {
      w.count++;
      return true;
    }
    w.dropped++;
    counts.rateLimited++;
    armSweep();
    return false;
  }

  function reportWindow(app: string, w: AppWindow): void {
    if (w.dropped > 0) {
      safeLog('warn', `notifications for app ${app} rate-limited: ${w.dropped} dropped`, {
        app,
        max: limitMax,
        per_ms: limitPerMs,
      });
      w.dropped = 0;
    }
  }

  /** Report windows that ended with drops even when the app sends nothing more; forget old windows. */
  function sweep(): void {
    sweepTimer = undefined;
    const now = clock.now();
    let pendingDrops = false;
    for (const [app, w] of windows) {
      if (now - w.start >= limitPerMs) {
        reportWindow(app, w);
        windows.delete(app);
      } else if (w.dropped > 0) pendingDrops = true;
    }
    if (pendingDrops) armSweep();
  }

  function armSweep(): void {
    if (sweepTimer || stopped) return;
    let due = limitPerMs;
    const now = clock.now();
    for (const w of windows.values()) if (w.dropped > 0) due = Math.min(due, w.start + limitPerMs - now);
    sweepTimer = setTimeout(sweep, Math.max(1, due));
    sweepTimer.unref();
  }

  function noteDrop(st: TargetState, now: number): void {
    counts.dropped++;
    st.droppedSinceLog++;
    if (st.lastDropLogAt === undefined || now - st.lastDropLogAt >= DROP_LOG_EVERY_MS) {
      safeLog('warn', `notification queue for ${st.label} full (${queueMax}): dropped ${st.droppedSinceLog} oldest`, {
        target: st.label,
      });
      st.droppedSinceLog = 0;
      st.lastDropLogAt = now;
    }
  }

  // ---- the pump -----------------------------------------------------------------------------

  function schedulePump(): void {
    if (pumpScheduled || stopped) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  }

  /** Start every delivery that may start now; arm a timer for the next retry due. Never throws. */
  function pump(): void {
    try {
      pumpOnce();
    } catch (err) {
      safeLog('error', `notifier: ${describeError(err)}`, {});
    }
  }

  function pumpOnce(): void {
    if (stopped) return;
    const now = clock.now();
    let nextWake = Number.POSITIVE_INFINITY;
    const n = states.length;
    for (let i = 0; i < n; i++) {
      const st = states[(rr + i) % n]!;
      if (st.busy) continue;
      const head = st.queue[0];
      if (!head) continue;
      if (head.readyAt > now) {
        nextWake = Math.min(nextWake, head.readyAt - now);
        continue;
      }
      if (inFlight >= maxInFlight) break;
      st.queue.shift();
      send(st, head);
    }
    if (n > 0) rr = (rr + 1) % n;
    if (wakeTimer) clearTimeout(wakeTimer);
    wakeTimer = undefined;
    if (Number.isFinite(nextWake)) {
      wakeTimer = setTimeout(() => {
        wakeTimer = undefined;
        pump();
      }, Math.max(1, Math.ceil(nextWake)));
      // Retries waiting for their time keep the process alive only while someone flushes.
      if (waiters.size === 0) wakeTimer.unref();
    }
    checkIdle();
  }

  function send(st: TargetState, job: Job): void {
    inFlight++;
    st.busy = true;
    job.attempts++;
    counts.attempts++;
    const started = clock.now();
    const p = attempt(st, job).then((outcome) => {
      inFlight--;
      st.busy = false;
      running.delete(p);
      try {
        if (!stopped) settle(st, job, outcome, clock.now() - started);
      } catch (err) {
        safeLog('error', `notifier: ${describeError(err)}`, {});
      }
      pump();
    });
    running.add(p);
  }

  /** One request under a hard deadline; always resolves. */
  async function attempt(st: TargetState, job: Job): Promise<Outcome> {
    const { target } = st;
    const ac = new AbortController();
    controllers.add(ac);
    let deadline: NodeJS.Timeout | undefined;
    try {
      // Settles on the deadline, or when close() aborts: an injected post may ignore the signal.
      const timedOut = new Promise<'timeout'>((resolve) => {
        deadline = setTimeout(() => {
          ac.abort();
          resolve('timeout');
        }, target.timeoutMs);
        ac.signal.addEventListener('abort', () => resolve('timeout'), { once: true });
      });
      const request = Promise.resolve().then(() => post(target.url, job.body, st.headers, target.timeoutMs, ac.signal));
      void request.catch(() => undefined); // a late rejection after the deadline is expected
      const result = await Promise.race([request, timedOut]);
      if (result === 'timeout') return { kind: 'retry', why: `no answer within ${target.timeoutMs} ms` };
      return classifyResult(result);
    } catch (err) {
      if (ac.signal.aborted) return { kind: 'retry', why: `no answer within ${target.timeoutMs} ms` };
      return classifyError(err, st, target.timeoutMs);
    } finally {
      clearTimeout(deadline);
      controllers.delete(ac);
    }
  }

  function classifyResult(result: PostResult): Outcome {
    const status = typeof result === 'number' ? result : result.status;
    if (status >= 200 && status < 300) return { kind: 'ok', status };
    if (status === 429 || (status >= 500 && status < 600)) {
      const raw = typeof result === 'number' ? undefined : result.retryAfter;
      const retryAfterMs = parseRetryAfter(raw);
      return { kind: 'retry', why: `HTTP ${status}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    }
    return { kind: 'final', why: `HTTP ${status}` };
  }

  function classifyError(err: unknown, st: TargetState, timeoutMs: number): Outcome {
    const e = err as { code?: string };
    // axios' own timeout may fire a hair before ours: same outcome, same words.
    if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' || e.code === 'ERR_CANCELED') {
      return { kind: 'retry', why: `no answer within ${timeoutMs} ms` };
    }
    const why = redactText(scrub(e.code ? `${e.code}: ${describeError(err)}` : describeError(err), st.secrets));
    if (e.code === 'ERR_INVALID_URL' || e.code === 'ERR_BAD_OPTION' || e.code === 'ERR_BAD_OPTION_VALUE') {
      return { kind: 'final', why };
    }
    return { kind: 'retry', why };
  }

  function settle(st: TargetState, job: Job, outcome: Outcome, ms: number): void {
    const meta = { app: job.app, event: job.type, target: st.label, attempt: job.attempts, ms: Math.round(ms) };
    if (outcome.kind === 'ok') {
      counts.sent++;
      safeLog('debug', `notification sent to ${st.label}`, { ...meta, status: outcome.status });
      return;
    }
    if (outcome.kind === 'final') {
      counts.failed++;
      safeLog('warn', `notification to ${st.label} rejected: ${outcome.why} (not retried)`, meta);
      return;
    }
    if (job.attempts > retries) {
      counts.failed++;
      safeLog('warn', `notification to ${st.label} failed after ${job.attempts} attempts: ${outcome.why}`, meta);
      return;
    }
    const delay =
      outcome.retryAfterMs !== undefined ? Math.min(outcome.retryAfterMs, retryAfterMaxMs) : backoff(job.attempts);
    job.readyAt = clock.now() + delay;
    if (st.queue.length >= queueMax) {
      // The retry is the oldest delivery of this target: it is the one to drop.
      noteDrop(st, clock.now());
      return;
    }
    st.queue.unshift(job);
    safeLog('debug', `notification to ${st.label} failed: ${outcome.why}; retry ${job.attempts}/${retries} in ${delay} ms`, meta);
  }

  /** Exponential from retryBaseMs, doubled per retry, a random 50-100 % of it, capped. */
  function backoff(attemptsMade: number): number {
    const full = Math.min(retryMaxMs, retryBaseMs * 2 ** (attemptsMade - 1));
    return Math.round(full * (0.5 + 0.5 * random()));
  }

  // ---- flush / close ------------------------------------------------------------------------

  function pendingCount(): number {
    let n = inFlight;
    for (const st of states) n += st.queue.length;
    return n;
  }

  function checkIdle(): void {
    if (waiters.size === 0 || pendingCount() > 0) return;
    for (const w of [...waiters]) w();
  }

  function flush(timeoutMs?: number): Promise<void> {
    if (pendingCount() === 0 || stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      waiters.add(done);
      wakeTimer?.ref();
      if (timeoutMs !== undefined) timer = setTimeout(done, Math.max(0, timeoutMs));
      schedulePump();
    });
  }

  function close(timeoutMs: number = closeTimeoutMs): Promise<void> {
    closing ??= (async () => {
      accepting = false;
      await flush(timeoutMs);
      stopped = true;
      if (wakeTimer) clearTimeout(wakeTimer);
      if (sweepTimer) clearTimeout(sweepTimer);
      wakeTimer = sweepTimer = undefined;
      let abandoned = inFlight;
      for (const ac of controllers) ac.abort();
      await Promise.all([...running]);
      for (const st of states) {
        abandoned += st.queue.length;
        st.queue.length = 0;
        if (st.droppedSinceLog > 0) {
          safeLog('warn', `notification queue for ${st.label} full (${queueMax}): dropped ${st.droppedSinceLog} oldest`, {
            target: st.label,
          });
          st.droppedSinceLog = 0;
        }
      }
      counts.dropped += abandoned;
      if (abandoned > 0) safeLog('warn', `notifier closed with ${abandoned} notification(s) undelivered`, {});
      for (const [app, w] of windows) reportWindow(app, w);
      windows.clear();
      for (const w of [...waiters]) w();
      transport?.close();
    })();
    return closing;
  }

  function stats(): NotifierStats {
    return { ...counts, pending: pendingCount() };
  }

  function safeLog(level: 'debug' | 'info' | 'warn' | 'error', message: string, meta: Record<string, unknown>): void {
    try {
      logger.log(level, message, meta);
    } catch {
      // a broken log transport must not break notifications
    }
  }

  return { notify, flush, close, stats };
}

// ---- helpers ------------------------------------------------------------------------------------

function intAtLeast(value: number | undefined, fallback: number, min: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.max(min, Math.floor(value));
}

/** Retry-After as milliseconds: delay-seconds (`120`) or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(raw: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

function safeApp(event: unknown): string | undefined {
  try {
    const app = (event as { app?: unknown } | null)?.app;
    return typeof app === 'string' ? app : undefined;
  } catch {
    return undefined;
  }
}

interface DefaultTransport {
  post: PostFn;
  close(): void;
}

/** axios with keep-alive agents, no proxy (HTTP(S)_PROXY ignored), no redirects, any status resolved. */
function createDefaultTransport(maxSockets: number): DefaultTransport {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: 2, timeout: 60_000 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets, maxFreeSockets: 2, timeout: 60_000 });
  const client: AxiosInstance = axios.create({
    httpAgent,
    httpsAgent,
    proxy: false,
    maxRedirects: 0,
    responseType: 'arraybuffer',
    maxContentLength: 1024 * 1024,
    validateStatus: () => true,
    // The body is already a JSON string: send it as is.
    transformRequest: [(data: unknown) => data],
  });
  return {
    async post(url, body, headers, timeoutMs, signal) {
      const res = await client.post(url, body, {
        headers: { ...headers },
        timeout: timeoutMs,
        ...(signal ? { signal } : {}),
      });
      const ra: unknown = res.headers['retry-after'];
      return { status: res.status, retryAfter: typeof ra === 'string' ? ra : undefined };
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
