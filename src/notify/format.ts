/**
 * Payloads for the three webhook formats. Pure functions: an event in, a JSON-able object out.
 *
 * - json:    `{ event, app, host, at, reason, detail, duration_ms, killed, source }` (undefined
 *            fields omitted) for your own receivers.
 * - slack:   `{ text }`, what Slack incoming webhooks accept; mrkdwn control characters escaped.
 * - discord: `{ content, username, allowed_mentions }`; content cut to 2000 characters and no
 *            @everyone/@here/role pings, whatever an app name or reason contains.
 */
import type { NotifyEvent, NotifyEventType, NotifyFormat } from './types.js';

export const SOURCE = 'helpdesk-monitor';
/** Discord rejects `content` longer than this (in characters). */
export const DISCORD_MAX_CONTENT = 2000;
/** Slack truncates long texts and advises <= 4000 characters; stay well under. */
export const SLACK_MAX_TEXT = 3000;

export interface JsonPayload {
  readonly event: NotifyEventType;
  readonly app: string;
  readonly host: string;
  readonly at: string;
  readonly reason?: string;
  readonly detail?: string;
  readonly duration_ms?: number;
  readonly killed?: readonly number[];
  readonly source: typeof SOURCE;
}

export interface SlackPayload {
  readonly text: string;
}

export interface DiscordPayload {
  readonly content: string;
  readonly username: typeof SOURCE;
  /** Empty parse list: the message never pings anyone. */
  readonly allowed_mentions: { readonly parse: readonly never[] };
}

export type Payload = JsonPayload | SlackPayload | DiscordPayload;

const EMOJI: Record<NotifyEventType, string> = {
  remedy_started: '🔧',
  remedy_succeeded: '✅',
  remedy_failed: '❌',
  remedy_skipped: '⏭️',
  circuit_opened: '🚨',
  circuit_half_open: '🟡',
  circuit_closed: '🟢',
  update_applied: '🚀',
  update_rolled_back: '↩️',
  update_refused: '✋',
  update_failed: '🚨',
  log_matched: '🔎',
  daemon_resurrected: '♻️',
  daemon_hung: '🥶',
  daemon_down: '💀',
};

/** The emoji that leads chat messages for this event type. */
export function eventEmoji(type: NotifyEventType): string {
  return EMOJI[type];
}

/** `850 ms`, `1.2 s`, `2 min 5 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalS = Math.round(ms / 1000);
  const m = Math.floor(totalS / 60);
  const s = totalS % 60;
  return s === 0 ? `${m} min` : `${m} min ${s} s`;
}

const MAX_PIDS_SHOWN = 10;

function killedPhrase(killed: readonly number[] | undefined): string {
  if (!killed || killed.length === 0) return '';
  const shown = killed.slice(0, MAX_PIDS_SHOWN).join(', ');
  const more = killed.length > MAX_PIDS_SHOWN ? ` and ${killed.length - MAX_PIDS_SHOWN} more` : '';
  return `; killed PID${killed.length === 1 ? '' : 's'} ${shown}${more} holding its ports`;
}

/**
 * The human sentence for an event, without app or host, e.g.
 * `circuit opened after 3 failed remedies in 10 min: no more automatic restarts until 14:05 UTC`.
 */
export function eventSentence(event: NotifyEvent): string {
  const reason = nonEmpty(event.reason);
  const detail = nonEmpty(event.detail);
  const d = detail ? ` (${detail})` : '';
  const dur = event.durationMs === undefined ? undefined : formatDuration(event.durationMs);
  const killed = killedPhrase(event.killed);
  switch (event.type) {
    case 'remedy_started':
      return `remedy started${reason ? `: ${reason}` : ''}${d}`;
    case 'remedy_succeeded':
      return `remedy succeeded${dur ? ` in ${dur}` : ''}, healthy again${reason ? ` (was: ${reason})` : ''}${d}${killed}`;
    case 'remedy_failed':
      return `remedy failed${dur ? ` after ${dur}` : ''}${reason ? `: ${reason}` : ''}${d}${killed}`;
    case 'remedy_skipped':
      return `remedy skipped${reason ? `: ${reason}` : ''}${d}`;
    case 'circuit_opened':
      return `circuit opened${reason ? ` after ${reason}` : ''}: no more automatic restarts ${detail ?? 'for now'}`;
    case 'circuit_half_open':
      return `circuit half-open${reason ? ` (${reason})` : ''}: allowing one remedy attempt${d}`;
    case 'circuit_closed':
      return `circuit closed${reason ? ` (${reason})` : ''}: automatic restarts resumed${d}`;
    case 'update_applied':
      return `update applied${reason ? `: ${reason}` : ''}${dur ? ` in ${dur}` : ''}${d}`;
    case 'update_rolled_back':
      return `update rolled back${reason ? `: ${reason}` : ''}${d}`;
    case 'update_refused':
      return `update refused${reason ? `: ${reason}` : ''}${d}`;
    case 'update_failed':
      return `update failed${reason ? `: ${reason}` : ''}${d}`;
    case 'log_matched':
      return `log lines matched${reason ? `: ${reason}` : ''}${d}`;
    case 'daemon_resurrected':
      return `PM2 daemon brought back${reason ? `: ${reason}` : ''}${d}`;
    case 'daemon_hung':
      return `PM2 daemon hung${reason ? `: ${reason}` : ''}${d}`;
    case 'daemon_down':
      return `PM2 daemon down and not brought back${reason ? `: ${reason}` : ''}${d}`;
    default:
      // A type outside the union (e.g. from untyped JS): still say something useful.
      return `${String((event as { type: unknown }).type)}${reason ? `: ${reason}` : ''}${d}`;
  }
}

/** The JSON payload; fields that are undefined are left out. */
export function jsonPayload(event: NotifyEvent): JsonPayload {
  const p: Record<string, unknown> = {
    event: event.type,
    app: event.app,
    host: event.host,
    at: isoTime(event.at),
  };
  if (event.reason !== undefined) p.reason = event.reason;
  if (event.detail !== undefined) p.detail = event.detail;
  if (event.durationMs !== undefined) p.duration_ms = event.durationMs;
  if (event.killed !== undefined) p.killed = [...event.killed];
  p.source = SOURCE;
  return p as unknown as JsonPayload;
}

/** `<emoji> *helpdesk-monitor* <app> on <host>: <sentence>` as Slack mrkdwn. */
export function slackPayload(event: NotifyEvent): SlackPayload {
  const line = `${eventEmoji(event.type)} *${SOURCE}* ${slackEscape(oneLine(event.app))} on ${slackEscape(oneLine(event.host))}: ${slackEscape(oneLine(eventSentence(event)))}`;
  return { text: cut(line, SLACK_MAX_TEXT) };
}

/** `<emoji> **helpdesk-monitor** <app> on <host>: <sentence>` as Discord markdown, <= 2000 chars. */
export function discordPayload(event: NotifyEvent): DiscordPayload {
  const line = `${eventEmoji(event.type)} **${SOURCE}** ${discordEscape(oneLine(event.app))} on ${discordEscape(oneLine(event.host))}: ${discordEscape(oneLine(eventSentence(event)))}`;
  return { content: cut(line, DISCORD_MAX_CONTENT), username: SOURCE, allowed_mentions: { parse: [] } };
}

/** The payload for a target's format. */
export function formatPayload(format: NotifyFormat, event: NotifyEvent): Payload {
  switch (format) {
    case 'slack':
      return slackPayload(event);
    case 'discord':
      return discordPayload(event);
    default:
      return jsonPayload(event);
  }
}

/** Slack mrkdwn: `&`, `<` and `>` are control characters and must be entity-escaped. */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Discord markdown: backslash-escape the characters that would format text or make a link. */
export function discordEscape(s: string): string {
  return s.replace(/[\\*_~`|[\]]/g, (c) => `\\${c}`);
}

/** Chat messages are one line: newlines (and the blanks around them) become one space. */
export function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ');
}

/**
 * Cut to at most `max` characters (Unicode code points, so an emoji is never split), ending
 * with '…' when cut.
 */
export function cut(s: string, max: number): string {
  if (s.length <= max) return s; // UTF-16 length >= code points: nothing to cut
  const cps = Array.from(s);
  if (cps.length <= max) return s;
  return `${cps.slice(0, max - 1).join('')}…`;
}

function isoTime(at: Date): string {
  const t = at instanceof Date ? at.getTime() : Number.NaN;
  return Number.isNaN(t) ? String(at) : new Date(t).toISOString();
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s;
}
