/**
 * Escaping for the status page. Text from outside (app names, reasons, command lines) reaches
 * HTML only through `text` or `attr`: redacted like everything else the monitor writes, made
 * printable (controls and bidi overrides shown as escapes, so a command line cannot reorder the
 * text around it), capped, then HTML-escaped. Attributes are always written in double quotes.
 */
import { redactText } from '../redact.js';
import { printable } from '../text/printable.js';

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `s` safe in element content and in a double- or single-quoted attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** Outside text for element content: redacted, printable, at most `max` characters, escaped. */
export function text(s: string, max?: number): string {
  return escapeHtml(printable(redactText(s), max));
}

/** ` name="value"`, the value treated as outside text. */
export function attr(name: string, value: string): string {
  return ` ${name}="${text(value)}"`;
}

/** A wall-clock time as `<time>`: the ISO string for machines, `shown` for people. */
export function timeTag(iso: string, shown: string): string {
  return `<time${attr('datetime', iso)}>${text(shown)}</time>`;
}

/** 850 ms, 2.4 s, 3 min 5 s: a duration people read at a glance. */
export function durationText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** 45s, 12m 5s, 3h 12m, 4d 2h: an uptime in its two largest units. */
export function uptimeText(seconds: number): string {
  const s = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** Bytes as MiB with one decimal. */
export function mibText(bytes: number): string {
  return Number.isFinite(bytes) && bytes >= 0 ? `${(bytes / 1_048_576).toFixed(1)} MiB` : '-';
}
