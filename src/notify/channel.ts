/**
 * A channel: one notify target as the notifier's queue sees it. The notifier owns what is common
 * (event filter, per-app rate limit, bounded queue, one delivery at a time per channel, the hard
 * deadline, retries with backoff, logging); a channel only renders an event and delivers it once.
 * Webhooks (webhook.ts) and email (email.ts) are the two kinds.
 */
import type { NotifyEvent, NotifyEventType } from './types.js';

/** What one delivery came to: sent, worth retrying, or final (a 4xx, an SMTP 5xx, a bad setting). */
export type Outcome =
  | { readonly kind: 'ok'; readonly meta: Readonly<Record<string, unknown>> }
  | { readonly kind: 'retry'; readonly why: string; readonly retryAfterMs?: number }
  | { readonly kind: 'final'; readonly why: string };

export interface Channel {
  /** The target as every log line names it: never a secret (a redacted URL, the relay and recipients). */
  readonly label: string;
  /** Event types this channel takes; undefined: all. */
  readonly events: ReadonlySet<NotifyEventType> | undefined;
  /** Hard deadline of one delivery. */
  readonly timeoutMs: number;
  /** Channels with the same key get the same rendered body (rendered once per event). */
  readonly bodyKey: string;
  /** The body to deliver, redacted (../redact.ts). */
  render(event: NotifyEvent): string;
  /** One delivery; may reject (classifyError judges it). `signal` is aborted at the deadline or close(). */
  deliver(body: string, signal: AbortSignal): Promise<Outcome>;
  /** A rejected delivery, in words that hold no secret. */
  classifyError(err: unknown): Outcome;
}

/** Events as a set; an empty list means every event. */
export const eventSet = (events: readonly NotifyEventType[]): ReadonlySet<NotifyEventType> | undefined =>
  events.length > 0 ? new Set(events) : undefined;
