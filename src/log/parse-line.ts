/**
 * One line of the monitor's log read back, in either format: a JSON line (the schema's fields),
 * or a text line (`<ISO time> <level> [app] message key=value...`, line.ts), where the incident
 * record is the last field, `incident={...}`, JSON to the end of the line. Anything else (a line
 * cut by a crash, another program's output) is not a log line: undefined.
 */
import { RECORD_FIELD } from './line.js';

export interface LogLine {
  readonly time: string;
  readonly level: string;
  readonly message: string;
  readonly app?: string;
  readonly incident_id?: string;
  readonly event?: string;
  /** The record of an `event: incident` line. */
  readonly incident?: Record<string, unknown>;
}

const TEXT_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (error|warn|info|debug) +(?:\[([^\]]*)\] )?(.*)$/;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const TEXT_INCIDENT_ID = new RegExp(` incident_id=(${UUID})(?= |$)`);
const TEXT_EVENT = / event=([a-z_]+)(?= |$)/;
const TEXT_RECORD = ` ${RECORD_FIELD}={`;

/** The line as a LogLine, or undefined. */
export function parseLogLine(line: string): LogLine | undefined {
  const trimmed = line.trim();
  if (trimmed.startsWith('{')) return jsonLine(trimmed);
  return textLine(trimmed);
}

function jsonLine(line: string): LogLine | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const d = doc as Record<string, unknown>;
  // `time` since schema 1; winston's own `timestamp` in lines written before it.
  const time = typeof d['time'] === 'string' ? d['time'] : d['timestamp'];
  if (typeof time !== 'string' || typeof d['level'] !== 'string' || typeof d['message'] !== 'string') return undefined;
  const str = (k: string): Record<string, string> => (typeof d[k] === 'string' ? { [k]: d[k] } : {});
  const record = d[RECORD_FIELD];
  return {
    time, level: d['level'], message: d['message'], ...str('app'), ...str('incident_id'), ...str('event'),
    ...(typeof record === 'object' && record !== null && !Array.isArray(record) ? { incident: record as Record<string, unknown> } : {}),
  };
}

function textLine(line: string): LogLine | undefined {
  const m = TEXT_LINE.exec(line);
  if (!m) return undefined;
  const [, time = '', level = '', app, body = ''] = m;
  const id = TEXT_INCIDENT_ID.exec(body)?.[1];
  const event = TEXT_EVENT.exec(body)?.[1];
  let incident: Record<string, unknown> | undefined;
  let rest = body;
  // The record runs to the end of the line; the same text may stand earlier (in the message) or
  // inside it (in a quoted string): the first place from which the rest parses whole is the field.
  for (let at = body.indexOf(TEXT_RECORD); at >= 0 && !incident; at = body.indexOf(TEXT_RECORD, at + 1)) {
    incident = recordAt(body.slice(at + TEXT_RECORD.length - 1));
    if (incident) rest = body.slice(0, at);
  }
  // The message is what comes before the fields the monitor adds (incident_id is the first of a
  // remedy's; the rest of the fields stay, as the text line shows them).
  const cut = id === undefined ? -1 : rest.indexOf(` incident_id=${id}`);
  const message = cut >= 0 ? rest.slice(0, cut) : rest;
  return {
    time, level, message,
    ...(app === undefined ? {} : { app }),
    ...(id === undefined ? {} : { incident_id: id }),
    ...(event === undefined ? {} : { event }),
    ...(incident ? { incident } : {}),
  };
}

function recordAt(json: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(json);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
