/**
 * The SQL the alarm trigger runs, built once from identifiers config/alarms.ts already checked
 * (plain words, quoted with backticks) and never from row data: every value travels as a `?`
 * parameter of a prepared statement. A LEFT JOIN, so an alarm whose process has no name row is
 * seen (and warned about) instead of silently missed.
 */
import type { AlarmsConfig } from '../config/alarms.js';
import { IDENTIFIER } from '../config/alarms.js';
import { isControl } from '../text/printable.js';

export interface Statement {
  readonly sql: string;
  readonly params: readonly (string | number)[];
}

/** The longest line we append to the notes column. */
export const NOTE_MAX = 200;
/** The notes column keeps at most its last this many characters (TEXT holds 65,535 bytes). */
export const NOTES_KEEP = 16_000;

/** A backtick-quoted identifier; throws on anything the config check would not have let through. */
export function quote(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

/** At most this many rows per poll: a table gone wrong must not become a remedy storm or a memory spike. */
export const MAX_ROWS = 10_000;

/**
 * The rows in alarm: process id, alarm value and name (NULL when PROCESE has no row). Both numbers
 * are cast to integers: a BIT or VARCHAR alarm column must not read as NaN (which would never
 * equal itself, and so look like a new alarm at every poll).
 */
export function selectAlarms(cfg: AlarmsConfig): Statement {
  const c = cfg.columns;
  const s = quote(cfg.tables.status);
  const p = quote(cfg.tables.processes);
  const where = cfg.alarmValues.length > 0
    ? `s.${quote(c.alarm)} IN (${cfg.alarmValues.map(() => '?').join(', ')})`
    : `s.${quote(c.alarm)} <> ?`;
  // The hint bounds the query on the server on MySQL (MariaDB reads it as a comment and gets
  // max_statement_time per session instead: source.ts).
  return {
    sql: `SELECT /*+ MAX_EXECUTION_TIME(${cfg.queryTimeoutMs}) */ CAST(s.${quote(c.processId)} AS SIGNED) AS process_id, CAST(s.${quote(c.alarm)} AS SIGNED) AS alarm, p.${quote(c.processName)} AS process_name`
      + ` FROM ${s} AS s LEFT JOIN ${p} AS p ON p.${quote(c.processId)} = s.${quote(c.processId)}`
      + ` WHERE ${where} ORDER BY s.${quote(c.processId)} LIMIT ${MAX_ROWS}`,
    params: cfg.alarmValues.length > 0 ? cfg.alarmValues : [0],
  };
}

/**
 * Clear an alarm we handled, only if it still holds the value we acted on: an alarm raised anew
 * (another value) meanwhile is kept. `sound` only when configured.
 */
export function clearAlarm(cfg: AlarmsConfig, processId: number, value: number): Statement {
  const c = cfg.columns;
  const sound = cfg.clearSound ? `, ${quote(c.sound)} = 0` : '';
  return {
    sql: `UPDATE ${quote(cfg.tables.status)} SET ${quote(c.alarm)} = 0${sound} WHERE ${quote(c.processId)} = ? AND ${quote(c.alarm)} = ?`,
    params: [processId, value],
  };
}

/**
 * Append one line to the notes column, keeping the column bounded (its newest NOTES_KEEP
 * characters). The newline travels as a parameter, like the line: no escape to depend on the
 * sql_mode (NO_BACKSLASH_ESCAPES), no CHAR() (a binary string: RIGHT would count bytes), and an
 * ASCII line converts to the column's own charset (latin1 on a stock MariaDB) without a clash.
 */
export function appendNote(cfg: AlarmsConfig, processId: number, line: string): Statement {
  const n = quote(cfg.columns.notes);
  return {
    sql: `UPDATE ${quote(cfg.tables.status)} SET ${n} = RIGHT(CONCAT_WS(?, ${n}, ?), ${NOTES_KEEP}) WHERE ${quote(cfg.columns.processId)} = ?`,
    params: ['\n', noteLine(line), processId],
  };
}

/**
 * One printable ASCII line of at most NOTE_MAX characters: control characters become spaces, and
 * anything outside ASCII a `?`. The notes column's charset is the table's (latin1 on a stock
 * MariaDB): an ASCII line can be appended to any of them, under any sql_mode, without a
 * collation clash or an "incorrect string value" error, and what the column held is kept as it is.
 */
export function noteLine(text: string): string {
  const chars = [...text].map((ch) => {
    const cp = ch.codePointAt(0)!;
    return isControl(cp) || cp === 0x2028 || cp === 0x2029 ? ' ' : cp > 0x7e ? '?' : ch;
  });
  return chars.length <= NOTE_MAX ? chars.join('') : `${chars.slice(0, NOTE_MAX - 3).join('')}...`;
}

/** Where the source connects, for messages: the socket, or host:port. */
export function sourceWhere(cfg: AlarmsConfig): string {
  return cfg.socket ?? `${cfg.host}:${cfg.port}`;
}

/** The GRANT lines an account needs for this config (for messages and the README). */
export function grantsFor(cfg: AlarmsConfig, account = "'helpdesk'@'localhost'"): string[] {
  const db = quote(cfg.database);
  const out = [
    `GRANT SELECT ON ${db}.${quote(cfg.tables.status)} TO ${account};`,
    `GRANT SELECT ON ${db}.${quote(cfg.tables.processes)} TO ${account};`,
  ];
  const cols = [
    ...(cfg.onSuccess === 'clear' ? [cfg.columns.alarm] : []),
    ...(cfg.clearSound ? [cfg.columns.sound] : []),
    ...(cfg.note ? [cfg.columns.notes] : []),
  ];
  if (cols.length > 0) out.push(`GRANT UPDATE (${cols.map(quote).join(', ')}) ON ${db}.${quote(cfg.tables.status)} TO ${account};`);
  return out;
}
