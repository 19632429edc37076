/**
 * The text form of one log line: `<ISO time> <level> [app] message key=value...`. Shared by
 * winston's text format (logger.ts) and the PM2 module's lines from before its logger exists (no
 * config yet, or an invalid one), so everything in `pm2 logs helpdesk-monitor` reads alike. A
 * leaf: the module's door may use it without loading winston.
 */

export type LineLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * The version of the log's JSON lines (schemas/log-line.schema.json), in every JSON line's
 * `schema` field. A new field keeps it; a renamed, removed or retyped one changes it.
 */
export const LOG_SCHEMA = 'helpdesk-monitor/log@1';

/**
 * The field that carries a whole record (the `incident` line's): in a text line it is written
 * last, as JSON, so `incident={...}` runs to the end of the line and a reader recovers it whole.
 */
export const RECORD_FIELD = 'incident';

/** `key=value` pairs: strings bare unless they hold whitespace, everything else as JSON. */
function fieldsText(fields: Readonly<Record<string, unknown>>): string {
  return Object.entries(fields)
    .filter(([k]) => !k.startsWith('Symbol'))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
}

/** One line (no newline at the end). */
export function textLine(timestamp: string, level: string, message: string, app?: string, fields: Readonly<Record<string, unknown>> = {}): string {
  return `${timestamp} ${level.padEnd(5)} ${textBody(message, app, fields)}`;
}

/** A line without its time and level (`[app] message key=value...`): the text line's body, and a syslog message's. */
export function textBody(message: string, app?: string, fields: Readonly<Record<string, unknown>> = {}): string {
  const { [RECORD_FIELD]: record, ...others } = fields;
  const rest = fieldsText(record === undefined ? others : { ...others, [RECORD_FIELD]: record });
  return `${app ? `[${app}] ` : ''}${message}${rest ? ` ${rest}` : ''}`;
}

/**
 * One JSON line's object: the schema version, the time, the level, the app and incident_id
 * when there are, the message, then the other fields in their order.
 */
export function jsonRecord(time: string, level: string, message: string, fields: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  const { app, incident_id, schema: _ours, time: _t, level: _l, message: _m, ...rest } = fields;
  return {
    schema: LOG_SCHEMA, time, level,
    ...(app === undefined ? {} : { app }),
    ...(incident_id === undefined ? {} : { incident_id }),
    message, ...rest,
  };
}

/**
 * Lines for a message that may span several (a config error lists its issues one per line):
 * each line of it becomes a line of its own with the time and the level, so a reader that
 * filters by level, or interleaves streams, never sees a line without them.
 */
export function textLines(timestamp: string, level: LineLevel, message: string): string {
  return message.split('\n').filter((l) => l.trim() !== '').map((l) => `${textLine(timestamp, level, l)}\n`).join('');
}
