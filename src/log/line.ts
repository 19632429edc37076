/**
 * The text form of one log line: `<ISO time> <level> [app] message key=value...`. Shared by
 * winston's text format (logger.ts) and the PM2 module's lines from before its logger exists (no
 * config yet, or an invalid one), so everything in `pm2 logs helpdesk-monitor` reads alike. A
 * leaf: the module's door may use it without loading winston.
 */

export type LineLevel = 'error' | 'warn' | 'info' | 'debug';

/** `key=value` pairs: strings bare unless they hold whitespace, everything else as JSON. */
function fieldsText(fields: Readonly<Record<string, unknown>>): string {
  return Object.entries(fields)
    .filter(([k]) => !k.startsWith('Symbol'))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
}

/** One line (no newline at the end). */
export function textLine(timestamp: string, level: string, message: string, app?: string, fields: Readonly<Record<string, unknown>> = {}): string {
  const rest = fieldsText(fields);
  return `${timestamp} ${level.padEnd(5)} ${app ? `[${app}] ` : ''}${message}${rest ? ` ${rest}` : ''}`;
}

/**
 * Lines for a message that may span several (a config error lists its issues one per line):
 * each line of it becomes a line of its own with the time and the level, so a reader that
 * filters by level, or interleaves streams, never sees a line without them.
 */
export function textLines(timestamp: string, level: LineLevel, message: string): string {
  return message.split('\n').filter((l) => l.trim() !== '').map((l) => `${textLine(timestamp, level, l)}\n`).join('');
}
