/**
 * The notifier: fire-and-forget notifications, to webhooks and by email.
 *
 * `notify()` renders the event for each matching channel (webhook.ts, email.ts), appends it to
 * that channel's bounded queue and returns; nothing is awaited and nothing is thrown, so the
 * engine never waits on a chat service or a mail relay. A background pump sends: each channel one
 * delivery at a time (so its messages stay in order), at most `maxInFlight` across channels, each
 * delivery under a hard deadline of the target's `timeoutMs`. A target that is down only delays
 * its own queue. The per-app rate limit (rate-limit.ts) is shared by every channel.
 *
 * Outcomes are the channel's to judge: sent, retried (`retries` times, exponential backoff from
 * `retryBaseMs` with jitter, or the server's Retry-After, capped) or final.
 *
 * Every log line names a target by its channel label only (a redacted URL; an email's relay and
 * recipients); header values, passwords and payloads are never logged, error messages are
 * scrubbed of secrets, and bodies are redacted like everything else the monitor writes.
 */
import { describeError } from '../errors.js';
import type { Channel, Outcome } from './channel.js';
import { emailChannel } from './email.js';
import { appRateLimit } from './rate-limit.js';
import { createWebhookTransport, webhookChannel, type WebhookTransport } from './webhook.js';
import type { Notifier, NotifierOptions, NotifierStats, NotifyEvent, NotifyEventType, PostFn, SendMailFn } from './types.js';

export type { Notifier, NotifierOptions, NotifierStats } from './types.js';
export { parseRetryAfter } from './webhook.js';

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

interface ChannelState {
  readonly channel: Channel;
  readonly queue: Job[];
  busy: boolean;
  droppedSinceLog: number;
  lastDropLogAt: number | undefined;
}

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

  let transport: WebhookTransport | undefined;
  const post: PostFn =
    options.post ??
    ((url, body, headers, timeoutMs, signal) => {
      transport ??= createWebhookTransport(maxInFlight);
      return transport.post(url, body, headers, timeoutMs, signal);
    });
  const sendMail: SendMailFn =
    options.sendMail ??
    (async (...args) => {
      const { sendMailWithNodemailer } = await import('./smtp.js');
      return sendMailWithNodemailer(...args);
    });
  const env = options.env ?? process.env;

  const states: ChannelState[] = options.targets.map((target) => ({
    channel: target.format === 'email' ? emailChannel(target, sendMail, env, (m) => safeLog('warn', m, {})) : webhookChannel(target, post),
    queue: [],
    busy: false,
    droppedSinceLog: 0,
    lastDropLogAt: undefined,
  }));

  const limit = appRateLimit({
    max: limitMax,
    perMs: limitPerMs,
    clock,
    onDrop: () => counts.rateLimited++,
    warn: (message, meta) => safeLog('warn', message, meta),
  });
  const controllers = new Set<AbortController>();
  /** The requests in flight (each always resolves). */
  const running = new Set<Promise<void>>();
  const waiters = new Set<() => void>();
  let inFlight = 0;
  let rr = 0;
  let pumpScheduled = false;
  let wakeTimer: NodeJS.Timeout | undefined;
  let accepting = true;
  let stopped = false;
  let closing: Promise<void> | undefined;
  const counts = { sent: 0, failed: 0, attempts: 0, rateLimited: 0, dropped: 0 };

  // ---- intake -------------------------------------------------------------------------------

  function notify(event: NotifyEvent): void {
    try {
      if (!accepting || states.length === 0) return;
      const matching = states.filter((s) => !s.channel.events || s.channel.events.has(event.type));
      if (matching.length === 0) return;
      if (!limit.admit(event.app)) return;
      const now = clock.now();
      const bodies = new Map<string, string>();
      for (const st of matching) {
        let body = bodies.get(st.channel.bodyKey);
        if (body === undefined) {
          body = st.channel.render(event);
          bodies.set(st.channel.bodyKey, body);
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

  function noteDrop(st: ChannelState, now: number): void {
    counts.dropped++;
    st.droppedSinceLog++;
    if (st.lastDropLogAt === undefined || now - st.lastDropLogAt >= DROP_LOG_EVERY_MS) {
      safeLog('warn', `notification queue for ${st.channel.label} full (${queueMax}): dropped ${st.droppedSinceLog} oldest`, {
        target: st.channel.label,
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

  function send(st: ChannelState, job: Job): void {
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

  /** One delivery under a hard deadline; always resolves. */
  async function attempt(st: ChannelState, job: Job): Promise<Outcome> {
    const { channel } = st;
    const ac = new AbortController();
    controllers.add(ac);
    let deadline: NodeJS.Timeout | undefined;
    const late: Outcome = { kind: 'retry', why: `no answer within ${channel.timeoutMs} ms` };
    try {
      // Settles on the deadline, or when close() aborts: an injected transport may ignore the signal.
      const timedOut = new Promise<'timeout'>((resolve) => {
        deadline = setTimeout(() => {
          ac.abort();
          resolve('timeout');
        }, channel.timeoutMs);
        ac.signal.addEventListener('abort', () => resolve('timeout'), { once: true });
      });
      const delivery = Promise.resolve().then(() => channel.deliver(job.body, ac.signal));
      void delivery.catch(() => undefined); // a late rejection after the deadline is expected
      const result = await Promise.race([delivery, timedOut]);
      return result === 'timeout' ? late : result;
    } catch (err) {
      return ac.signal.aborted ? late : channel.classifyError(err);
    } finally {
      clearTimeout(deadline);
      controllers.delete(ac);
    }
  }

  function settle(st: ChannelState, job: Job, outcome: Outcome, ms: number): void {
    const label = st.channel.label;
    const meta = { app: job.app, event: job.type, target: label, attempt: job.attempts, ms: Math.round(ms) };
    if (outcome.kind === 'ok') {
      counts.sent++;
      safeLog('debug', `notification sent to ${label}`, { ...meta, ...outcome.meta });
      return;
    }
    if (outcome.kind === 'final') {
      counts.failed++;
      safeLog('warn', `notification to ${st.channel.label} rejected: ${outcome.why} (not retried)`, meta);
      return;
    }
    if (job.attempts > retries) {
      counts.failed++;
      safeLog('warn', `notification to ${st.channel.label} failed after ${job.attempts} attempts: ${outcome.why}`, meta);
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
    safeLog('debug', `notification to ${st.channel.label} failed: ${outcome.why}; retry ${job.attempts}/${retries} in ${delay} ms`, meta);
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
      wakeTimer = undefined;
      limit.close();
      let abandoned = inFlight;
      for (const ac of controllers) ac.abort();
      await Promise.all([...running]);
      for (const st of states) {
        abandoned += st.queue.length;
        st.queue.length = 0;
        if (st.droppedSinceLog > 0) {
          safeLog('warn', `notification queue for ${st.channel.label} full (${queueMax}): dropped ${st.droppedSinceLog} oldest`, {
            target: st.channel.label,
          });
          st.droppedSinceLog = 0;
        }
      }
      counts.dropped += abandoned;
      if (abandoned > 0) safeLog('warn', `notifier closed with ${abandoned} notification(s) undelivered`, {});
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

function safeApp(event: unknown): string | undefined {
  try {
    const app = (event as { app?: unknown } | null)?.app;
    return typeof app === 'string' ? app : undefined;
  } catch {
    return undefined;
  }
}
