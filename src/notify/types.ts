/**
 * Notification types: what the engine reports (events), where it goes (targets: webhooks and
 * email) and the notifier's contract. The notifier is fire-and-forget: `notify()` never blocks and never throws.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../log/logger.js';

/** Every event type, in a stable order (for config validation and docs). */
export const NOTIFY_EVENT_TYPES = [
  'remedy_started',
  'remedy_succeeded',
  'remedy_failed',
  'remedy_skipped',
  'circuit_opened',
  'circuit_half_open',
  'circuit_closed',
  'update_applied',
  'update_rolled_back',
  'update_refused',
  'update_failed',
  'log_matched',
  'daemon_resurrected',
  'daemon_hung',
  'daemon_down',
] as const;

export type NotifyEventType = (typeof NOTIFY_EVENT_TYPES)[number];

/**
 * One thing worth telling a human. `reason` and `detail` are short plain-text phrases that the
 * formatter splices into a sentence (see format.ts), so write them to read well there:
 *
 * | type              | reason (why)                               | detail (extra)                        |
 * |-------------------|--------------------------------------------|---------------------------------------|
 * | remedy_started    | `health check failed 3 times (timeout)`    | e.g. `strategy restart`               |
 * | remedy_succeeded  | what was wrong before                      | e.g. `online, /health 200`            |
 * | remedy_failed     | why it failed, e.g. `not healthy within 10 s` | e.g. `last probe: HTTP 503`       |
 * | remedy_skipped    | why, e.g. `circuit open`                   |                                       |
 * | circuit_opened    | `3 failed remedies in 10 min` (read after "after") | `until 14:05:00 UTC` (read after "no more automatic restarts") |
 * | circuit_half_open | e.g. `cooldown of 5 min elapsed`           |                                       |
 * | circuit_closed    | e.g. `remedy succeeded`                    |                                       |
 * | update_applied    | `abc1234 -> def5678 "subject"`             | e.g. `healthy in 2.1 s`               |
 * | update_rolled_back| the same, then why it failed               | `back on abc1234, healthy`            |
 * | update_refused    | why the tree was not moved                 | the way out                           |
 * | update_failed     | what failed (a rollback, a fetch)          | `updates stopped for the app`         |
 * | log_matched       | `/FATAL/ 3 times within 1 min in out.log` | the last matching line (cut)          |
 * | daemon_resurrected| the story: down since, the dump used       | the apps' health after it, the module |
 * | daemon_hung       | why it counts as hung (pid, pings)         | what was done (reported / killed)     |
 * | daemon_down       | why it was not brought back                |                                       |
 *
 * The daemon events are about PM2 itself: their `app` is `pm2`.
 */
export interface NotifyEvent {
  readonly type: NotifyEventType;
  /** The PM2 app name. */
  readonly app: string;
  /** Wall-clock time of the event (shown to humans, so not the monotonic clock). */
  readonly at: Date;
  readonly reason?: string;
  readonly detail?: string;
  /** The machine's host name (os.hostname()), so one channel can serve several hosts. */
  readonly host: string;
  /** How long the remedy took (remedy_succeeded / remedy_failed). */
  readonly durationMs?: number;
  /** PIDs killed to free the app's ports. */
  readonly killed?: readonly number[];
}

export type NotifyFormat = 'json' | 'slack' | 'discord';

/** One webhook, from validated config (camelCase). */
export interface WebhookTarget {
  readonly url: string;
  readonly format: NotifyFormat;
  /** Event types sent to this target; empty = all. */
  readonly events: readonly NotifyEventType[];
  /** Extra request headers (e.g. Authorization). Values are never logged. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Hard deadline of one request (connect + response headers + body). */
  readonly timeoutMs: number;
}

/** Where an SMTP password is read from (fsx/secret.ts); never the password itself. */
export type SecretSource = { readonly kind: 'env'; readonly name: string } | { readonly kind: 'file'; readonly path: string };

/** The SMTP relay of an email target. */
export interface SmtpTarget {
  readonly host: string;
  readonly port: number;
  /** `tls` from the first byte, `starttls` required after the greeting, `none` plain (loopback). */
  readonly security: 'tls' | 'starttls' | 'none';
  readonly user?: string;
  readonly password?: SecretSource;
  /** A PEM CA file trusted instead of the system's. */
  readonly caFile?: string;
}

/** One email channel: the same events as a webhook, mailed through an SMTP relay. */
export interface EmailTarget {
  readonly format: 'email';
  readonly smtp: SmtpTarget;
  readonly from: string;
  readonly to: readonly string[];
  readonly events: readonly NotifyEventType[];
  /** Hard deadline of one delivery (connect, greeting, TLS, AUTH, the message). */
  readonly timeoutMs: number;
}

export type NotifyTarget = WebhookTarget | EmailTarget;

/** An SMTP delivery as the transport sees it: the password already read. */
export interface SmtpConnection {
  readonly host: string;
  readonly port: number;
  readonly security: SmtpTarget['security'];
  readonly auth?: { readonly user: string; readonly pass: string };
  /** PEM text of the trusted CA. */
  readonly ca?: string;
}

export interface MailMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
}

/**
 * Send one message; resolves with the server's final answer, rejects with nodemailer's error
 * (`code`, `responseCode`). `signal` aborts it; the notifier races its own deadline anyway.
 */
export type SendMailFn = (connection: SmtpConnection, message: MailMessage, timeoutMs: number, signal?: AbortSignal) => Promise<{ readonly response?: string }>;

/**
 * What one POST answered: the status, or the status and the raw Retry-After header.
 * A rejected promise means a network error or a timeout (both retried).
 */
export type PostResult = number | { readonly status: number; readonly retryAfter?: string | undefined };

/**
 * Send one request. `signal` aborts it (the notifier's own deadline or close()); an injected
 * implementation may ignore it: the notifier races it against `timeoutMs` anyway.
 */
export type PostFn = (
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
  signal?: AbortSignal,
) => Promise<PostResult>;

export interface NotifierOptions {
  readonly targets: readonly NotifyTarget[];
  readonly logger: Logger;
  /** Monotonic clock: rate-limit windows, retry schedule, log throttling. */
  readonly clock: Clock;
  /** Retries after the first attempt (429, 5xx, network errors, timeouts). Default 3. */
  readonly retries?: number;
  /** First retry delay; doubles each retry, with jitter (a random 50-100 % of it). Default 1000. */
  readonly retryBaseMs?: number;
  /** Cap of one backoff delay. Default 30 000. */
  readonly retryMaxMs?: number;
  /** Cap of a server's Retry-After. Default 60 000. */
  readonly retryAfterMaxMs?: number;
  /**
   * Events per app per fixed window, across all targets; the rest are dropped, counted and
   * logged once per window. Default 10 per 60 000 ms.
   */
  readonly perAppLimit?: { readonly max: number; readonly perMs: number };
  /** Pending deliveries kept per target; when full the oldest is dropped. Default 100. */
  readonly queueMax?: number;
  /** Requests in flight across all targets (each target sends one at a time, in order). Default 4. */
  readonly maxInFlight?: number;
  /** Default time close() waits for pending deliveries before abandoning them. Default 2000. */
  readonly closeTimeoutMs?: number;
  /** Transport; default: axios with keep-alive agents, proxy: false, no redirects. */
  readonly post?: PostFn;
  /** Mail transport; default: nodemailer (notify/smtp.ts), loaded on the first email. */
  readonly sendMail?: SendMailFn;
  /** Where SMTP password variables are read (and taken out once read); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Random source for jitter, in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

export interface NotifierStats {
  /** Deliveries answered 2xx (webhooks) or accepted by the SMTP relay (email). */
  readonly sent: number;
  /** Deliveries given up (permanent 4xx or SMTP 5xx, or retries exhausted). */
  readonly failed: number;
  /** Requests made, including retries. */
  readonly attempts: number;
  /** Events dropped by the per-app rate limit. */
  readonly rateLimited: number;
  /** Deliveries dropped because a target's queue was full, or abandoned at close(). */
  readonly dropped: number;
  /** Deliveries waiting (queued or waiting for a retry) plus in flight. */
  readonly pending: number;
}

export interface Notifier {
  /** Enqueue and return at once. Never throws, never waits. A no-op after close(). */
  notify(event: NotifyEvent): void;
  /** Resolve when nothing is queued or in flight, or after `timeoutMs` (never rejects). */
  flush(timeoutMs?: number): Promise<void>;
  /** Stop accepting, flush for up to `timeoutMs` (default closeTimeoutMs), abort the rest. Idempotent. */
  close(timeoutMs?: number): Promise<void>;
  /** Counters, for status output, metrics and tests. */
  stats(): NotifierStats;
}
