/**
 * The syslog transport: every log line (already redacted by the logger's format) also goes to
 * syslog as RFC 5424 (rfc5424.ts). Two roads:
 * - `udp://HOST:PORT`: one datagram per line through node:dgram.
 * - a unix datagram socket (`/dev/log`): Node cannot open one, so a long-lived util-linux
 *   `logger --rfc5424 --prio-prefix --socket PATH` child is fed one line per message on its stdin;
 *   logger writes the header (its own time, the host, our APP-NAME and pid) and our PRI, but
 *   carries no structured data: app and incident_id stay in the message.
 * Never blocking and never throwing: a line that cannot leave now is dropped (a full pipe, too
 * many datagrams in flight, a failing target). A failure is logged once, then the target is left
 * alone for a while (1 s, doubling up to 60 s) before it is tried again; getting through again
 * is logged once too, with the count of lines dropped meanwhile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { hostname } from 'node:os';
import { isIPv6 } from 'node:net';
import winston from 'winston';
import type TransportStream from 'winston-transport';
import type { SyslogConfig } from '../config/syslog.js';
import { textBody } from './line.js';
import { rfc5424, SEVERITIES, FACILITIES } from './rfc5424.js';

export type SyslogOptions = SyslogConfig;

/** How the transport tells the log about its own trouble (wired by logger.ts). */
export type SyslogReport = (level: 'warn' | 'info', message: string) => void;

/** Where winston's format put the finished line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');
const MAX_BYTES = 8192;
const MAX_IN_FLIGHT = 256;
const FIRST_PAUSE_MS = 1000;
/** A logger child alive this long got through. */
const SETTLED_MS = 1000;
const MAX_PAUSE_MS = 60_000;

/** winston exports the transport base class at run time as `Transport`; its typings call it `transport`. */
const TransportBase = (winston as unknown as { Transport: typeof TransportStream }).Transport;

interface Sink {
  /** Send one message; false when it was dropped. */
  send(line: Line): void;
  close(): void;
}

interface Line {
  readonly level: string;
  readonly time: string;
  readonly msgId: string | undefined;
  readonly data: Record<string, string>;
  readonly msg: string;
}

export class SyslogTransport extends TransportBase {
  private readonly sink: Sink;

  constructor(
    syslog: SyslogOptions,
    private readonly lineFormat: 'text' | 'json',
    report: SyslogReport = () => undefined,
  ) {
    super();
    const health = new Health(syslog.address, report);
    this.sink = syslog.target.kind === 'udp' ? new UdpSink(syslog, health) : new LoggerSink(syslog, health);
    // Removed from the logger (a reload: close) or the logger ended (finish): let the target go.
    this.once('finish', () => this.close());
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    try {
      this.sink.send(this.lineOf(info));
    } catch {
      // a log line must never break the monitor
    }
    next();
  }

  override close(): void {
    this.sink.close();
  }

  /** The message: the JSON line as the file has it, or the text line without its time and level. */
  private lineOf(info: Record<string | symbol, unknown>): Line {
    const { level, message, timestamp, app, ...fields } = info as Record<string, unknown>;
    const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : String(v));
    const msg = this.lineFormat === 'json' && typeof info[MESSAGE] === 'string' ? info[MESSAGE] : textBody(str(message), app === undefined ? undefined : str(app), fields);
    return {
      level: str(level), time: str(timestamp) || new Date().toISOString(), msgId: fields['event'] === 'incident' ? 'incident' : undefined,
      data: { app: str(app), incident_id: str(fields['incident_id']) },
      msg,
    };
  }
}

/** Whether the target works: one message per failure streak and per recovery, and the pause between tries. */
class Health {
  private pauseMs = FIRST_PAUSE_MS;
  private pausedUntil = 0;
  private failing = false;
  private dropped = 0;

  constructor(
    private readonly address: string,
    private readonly report: SyslogReport,
  ) {}

  /** May a line be sent now? Counts it as dropped when not. */
  open(): boolean {
    if (performance.now() < this.pausedUntil) {
      this.dropped++;
      return false;
    }
    return true;
  }

  drop(): void {
    this.dropped++;
  }

  failed(why: string): void {
    this.dropped++;
    if (performance.now() < this.pausedUntil) return; // one failure of a burst already paused it
    this.pausedUntil = performance.now() + this.pauseMs;
    if (!this.failing) this.safeReport('warn', `syslog: cannot send to ${this.address}: ${why}; lines for syslog are dropped while it fails (tried again after ${this.pauseMs / 1000} s, backing off to ${MAX_PAUSE_MS / 1000} s)`);
    this.failing = true;
    this.pauseMs = Math.min(MAX_PAUSE_MS, this.pauseMs * 2);
  }

  sent(): void {
    if (!this.failing) return;
    this.failing = false;
    this.pauseMs = FIRST_PAUSE_MS;
    const dropped = this.dropped;
    this.dropped = 0;
    this.safeReport('info', `syslog: ${this.address} reachable again (${dropped} line(s) dropped meanwhile)`);
  }

  private safeReport(level: 'warn' | 'info', message: string): void {
    try {
      this.report(level, message);
    } catch {
      // the log may be closing
    }
  }
}

class UdpSink implements Sink {
  private socket: Socket | undefined;
  private inFlight = 0;
  private readonly host = hostname();

  constructor(
    private readonly options: SyslogOptions,
    private readonly health: Health,
  ) {}

  send(line: Line): void {
    const t = this.options.target;
    if (t.kind !== 'udp' || !this.health.open()) return;
    if (this.inFlight >= MAX_IN_FLIGHT) return this.health.drop();
    if (!this.socket) {
      const socket = createSocket(isIPv6(t.host) ? 'udp6' : 'udp4');
      socket.on('error', (err) => this.health.failed(err.message));
      socket.unref();
      this.socket = socket;
    }
    const bytes = rfc5424({ facility: this.options.facility, host: this.host, appName: this.options.appName, procId: process.pid, ...line }, MAX_BYTES);
    this.inFlight++;
    this.socket.send(bytes, t.port, t.host, (err) => {
      this.inFlight--;
      if (err) this.health.failed(err.message);
      else this.health.sent();
    });
  }

  close(): void {
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
    this.socket = undefined;
  }
}

/** A `logger` child fed `<PRI>message` lines; started at the first line, again after it died and the pause passed. */
class LoggerSink implements Sink {
  private child: ChildProcess | undefined;
  private closed = false;

  constructor(
    private readonly options: SyslogOptions,
    private readonly health: Health,
  ) {}

  send(line: Line): void {
    if (this.closed || !this.health.open()) return;
    const child = this.child ?? this.start();
    if (!child) return;
    if (!child.stdin?.writable || child.stdin.writableNeedDrain) return this.health.drop();
    const pri = FACILITIES[this.options.facility] * 8 + (SEVERITIES[line.level] ?? 6);
    const text = line.msg.replace(/\r?\n/g, ' | ');
    // logger cuts a message at --size; the pipe carries one line per message.
    child.stdin.write(`<${pri}>${text}\n`);
  }

  private start(): ChildProcess | undefined {
    const t = this.options.target;
    if (t.kind !== 'unix') return undefined;
    const args = ['--rfc5424=notq', '--prio-prefix', '--socket', t.path, '--socket-errors=on', '--tag', this.options.appName, `--id=${process.pid}`, '--size', String(MAX_BYTES)];
    let child: ChildProcess;
    try {
      child = spawn('logger', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (err) {
      this.health.failed(`cannot run util-linux logger: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      if (stderr.length < 500) stderr += c;
    });
    child.stdin?.on('error', () => undefined); // EPIPE when it died: the exit below tells why
    child.on('error', (err) => {
      if (this.child === child) this.child = undefined;
      this.health.failed((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'util-linux `logger` is not installed (it carries lines to a unix socket)' : err.message);
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.closed) this.health.failed(`logger exited (${signal ?? `code ${code}`})${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''}`);
    });
    child.unref();
    (child.stdin as { unref?: () => void } | null)?.unref?.();
    (child.stderr as { unref?: () => void } | null)?.unref?.();
    this.child = child;
    // logger connects at start and exits on a socket error (--socket-errors=on): one that is still
    // running a second later reaches the socket.
    setTimeout(() => {
      if (this.child === child) this.health.sent();
    }, SETTLED_MS).unref();
    return child;
  }

  close(): void {
    this.closed = true;
    this.child?.stdin?.end();
    this.child = undefined;
  }
}
