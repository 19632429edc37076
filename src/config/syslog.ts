/**
 * `log.syslog:`: also send every log line to syslog, as RFC 5424. The address is a UDP one
 * (`udp://HOST:PORT`, port 514 when left out) or a local unix datagram socket by its absolute
 * path (`/dev/log`), which src/log/syslog.ts reaches through util-linux `logger` (Node cannot
 * open a unix datagram socket).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { FACILITIES, type Facility } from '../log/rfc5424.js';
import { parsePort } from '../text/port.js';

export type SyslogTarget =
  | { readonly kind: 'udp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

export interface SyslogConfig {
  /** As written (for messages). */
  readonly address: string;
  readonly target: SyslogTarget;
  readonly facility: Facility;
  /** APP-NAME of every message. */
  readonly appName: string;
}

const ADDRESS_HINT = 'expected udp://HOST:PORT (e.g. udp://127.0.0.1:514) or the absolute path of a unix datagram socket (e.g. /dev/log)';

/** The address as a target, or undefined when it is neither form. */
export function parseSyslogAddress(address: string): SyslogTarget | undefined {
  if (address.startsWith('/')) return /[\0\n]/.test(address) ? undefined : { kind: 'unix', path: address };
  if (address.startsWith('unix://')) return parseSyslogAddress(address.slice('unix://'.length));
  const m = /^udp:\/\/(\[[0-9a-f:.]+\]|[^:/[\]\s@]+)(?::([^/]*))?\/?$/i.exec(address);
  if (!m) return undefined;
  const host = m[1]!.replace(/^\[|\]$/g, '');
  if (m[1]!.startsWith('[') && isIP(host) !== 6) return undefined;
  const port = m[2] === undefined ? 514 : parsePort(m[2]);
  return port === undefined ? undefined : { kind: 'udp', host, port };
}

const FACILITY_NAMES = Object.keys(FACILITIES) as [Facility, ...Facility[]];

export const syslogSchema = z.strictObject({
  address: z.string().refine((a) => parseSyslogAddress(a) !== undefined, ADDRESS_HINT),
  facility: z.enum(FACILITY_NAMES).default('local0'),
  // APP-NAME: printable US-ASCII without spaces, at most 48 characters (RFC 5424).
  app_name: z.string().regex(/^[\x21-\x7e]{1,48}$/, 'expected 1 to 48 printable ASCII characters without spaces').default('helpdesk-monitor'),
});

export const SYSLOG_KEYS: readonly string[] = Object.keys(syslogSchema.shape);

export function toSyslogConfig(raw: z.output<typeof syslogSchema>): SyslogConfig {
  return { address: raw.address, target: parseSyslogAddress(raw.address)!, facility: raw.facility, appName: raw.app_name };
}
