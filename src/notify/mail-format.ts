/**
 * The email form of an event. Pure: an event in, a subject and a plain-text body out.
 *
 * - Subject: `helpdesk-monitor: <app> <event> on <host>`, the event type with dashes
 *   (`helpdesk-monitor: api remedy-failed on web-1`): one line, at most 200 characters, so a
 *   mail filter can match app and event.
 * - Body: the line the chat webhooks carry (`helpdesk-monitor <app> on <host>: <sentence>`, without
 *   the emoji and markup), then the JSON payload's fields one per line, for a reader or a script.
 *
 * Redaction is the channel's (email.ts): this only shapes text.
 */
import { SOURCE, cut, eventSentence, jsonPayload, oneLine } from './format.js';
import type { NotifyEvent } from './types.js';

/** Longer subjects are folded by mail clients and cut by some relays. */
export const MAX_SUBJECT = 200;
/** A body is a notice, not a log dump. */
export const MAX_TEXT = 20_000;

/** `helpdesk-monitor: api remedy-failed on web-1`. */
export function mailSubject(event: NotifyEvent): string {
  return cut(oneLine(`${SOURCE}: ${event.app} ${String(event.type).replace(/_/g, '-')} on ${event.host}`), MAX_SUBJECT);
}

/** The chat line, a blank line, then `key: value` lines (the JSON payload's keys and values). */
export function mailText(event: NotifyEvent): string {
  const headline = `${SOURCE} ${oneLine(event.app)} on ${oneLine(event.host)}: ${oneLine(eventSentence(event))}`;
  const fields = Object.entries(jsonPayload(event))
    .filter(([k, v]) => k !== 'source' && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}: ${oneLine(Array.isArray(v) ? v.join(', ') : String(v))}`);
  return cut(`${headline}\n\n${fields.join('\n')}\n`, MAX_TEXT);
}
