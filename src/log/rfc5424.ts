/**
 * One syslog message as RFC 5424 writes it:
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG`. Pure: the transport
 * (syslog.ts) gives the parts and sends the bytes. Header fields are printable US-ASCII without
 * spaces, cut to their RFC lengths, `-` when empty; MSG is one line, starting with a BOM only
 * when it holds non-ASCII text (MSG-UTF8; plain ASCII is MSG-ANY).
 */

/** The facilities a monitor may log under (RFC 5424 table 1). */
export const FACILITIES = {
  user: 1, daemon: 3, syslog: 5,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
} as const;
export type Facility = keyof typeof FACILITIES;

/** Our levels as syslog severities (err 3, warning 4, informational 6, debug 7). */
export const SEVERITIES: Readonly<Record<string, number>> = { error: 3, warn: 4, info: 6, debug: 7 };

/**
 * The SD-ID of our structured data: a private one, `name@<enterprise number>`. 32473 is the
 * number RFC 5612 reserves for documentation and examples; no number is registered for us.
 */
export const SD_ID = 'hdm@32473';

export interface SyslogMessage {
  readonly facility: Facility;
  /** Our level (error, warn, info, debug); anything else is informational. */
  readonly level: string;
  /** ISO 8601 with a `Z` or an offset (winston's timestamp). */
  readonly time: string;
  readonly host: string;
  readonly appName: string;
  readonly procId: string | number;
  readonly msgId?: string;
  /** SD-PARAMs of our one SD-ELEMENT (absent or empty: NILVALUE). */
  readonly data?: Readonly<Record<string, string>>;
  readonly msg: string;
}

const BOM = '\uFEFF';

/** The message's bytes, cut so the whole datagram is at most `maxBytes` (never inside a character). */
export function rfc5424(m: SyslogMessage, maxBytes = 8192): Buffer {
  const severity = SEVERITIES[m.level] ?? 6;
  const head = [
    `<${FACILITIES[m.facility] * 8 + severity}>1`,
    headerField(m.time, 128),
    headerField(m.host, 255),
    headerField(m.appName, 48),
    headerField(String(m.procId), 128),
    headerField(m.msgId ?? '', 32),
    structuredData(m.data),
  ].join(' ');
  const oneLine = m.msg.replace(/\r?\n/g, ' | ');
  // eslint-disable-next-line no-control-regex
  const msg = /[^\x00-\x7f]/.test(oneLine) ? `${BOM}${oneLine}` : oneLine;
  const line = Buffer.from(`${head} ${msg}`, 'utf8');
  return line.length <= maxBytes ? line : cutUtf8(line, maxBytes);
}

/** PRINTUSASCII (33-126) only, at most `max` characters; `-` when nothing is left. */
function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** `[hdm@32473 app="api" incident_id="..."]`; PARAM-VALUE escapes `"`, `\` and `]`. */
function structuredData(data: Readonly<Record<string, string>> | undefined): string {
  const params = Object.entries(data ?? {}).filter(([, v]) => v !== '');
  if (params.length === 0) return '-';
  // SD-NAME: 1-32 PRINTUSASCII except `=`, space, `]`, `"`.
  const name = (k: string): string => k.replace(/[^\x21-\x7e]|[=\]"]/g, '_').slice(0, 32);
  const value = (v: string): string => v.replace(/[\\"\]]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
  return `[${SD_ID} ${params.map(([k, v]) => `${name(k)}="${value(v)}"`).join(' ')}]`;
}

/** The first `max` bytes, backed off to a character boundary (a UTF-8 continuation byte is 10xxxxxx). */
function cutUtf8(buf: Buffer, max: number): Buffer {
  let end = max;
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}
