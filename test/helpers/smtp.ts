/**
 * A real SMTP server in-process (the smtp-server package) that keeps what arrives: for the
 * email channel's unit tests and the integration test. Loopback only. It can offer STARTTLS or
 * implicit TLS with the test certificate (test/fixtures/tls, public: tests only), ask for a login,
 * refuse messages with a reply code, or accept connections and never greet (a hung relay).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { ROOT } from './sandbox.js';

export const TLS_FIXTURE = join(ROOT, 'test', 'fixtures', 'tls');
export const FIXTURE_CERT = join(TLS_FIXTURE, 'cert.pem');

export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  /** The login used, if any. */
  readonly user: string | undefined;
  /** Whether the session was encrypted when the message came. */
  readonly secure: boolean;
  readonly subject: string;
  /** The text body, transfer encoding undone. */
  readonly text: string;
  /** The message as it came over the wire. */
  readonly raw: string;
}

export interface SmtpSink {
  readonly port: number;
  readonly received: ReceivedMail[];
  /** Connections accepted so far. */
  connections(): number;
  /** Failed logins so far. */
  readonly failedLogins: string[];
  close(): Promise<void>;
}

export interface SinkOptions {
  /** Default 0 (any free port). */
  readonly port?: number;
  /** starttls (offered), tls (implicit), none (no STARTTLS offered). Default none. */
  readonly security?: 'starttls' | 'tls' | 'none';
  /** Require this login. */
  readonly login?: { readonly user: string; readonly pass: string };
  /** Reply to DATA with this error code (e.g. 451 temporary, 554 permanent). */
  readonly rejectWith?: () => number | undefined;
}

export async function startSmtpSink(options: SinkOptions = {}): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  const failedLogins: string[] = [];
  let connections = 0;
  const security = options.security ?? 'none';
  const tls = security === 'none' ? {} : { key: readFileSync(join(TLS_FIXTURE, 'key.pem')), cert: readFileSync(FIXTURE_CERT) };
  const server = new SMTPServer({
    ...tls,
    secure: security === 'tls',
    hideSTARTTLS: security === 'none',
    authOptional: options.login === undefined,
    allowInsecureAuth: security === 'none',
    disabledCommands: [...(options.login === undefined ? ['AUTH'] : []), ...(security === 'none' ? ['STARTTLS'] : [])],
    logger: false,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onAuth(auth, _session, callback) {
      const want = options.login;
      if (want && auth.username === want.user && auth.password === want.pass) return callback(null, { user: auth.username });
      failedLogins.push(auth.username ?? '');
      const err = Object.assign(new Error('Invalid username or password'), { responseCode: 535 });
      return callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const code = options.rejectWith?.();
        if (code !== undefined) return callback(Object.assign(new Error(`refused by the test (${code})`), { responseCode: code }));
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: typeof session.user === 'string' ? session.user : undefined,
          secure: session.secure,
          ...parseMessage(raw),
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    received,
    failedLogins,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A relay that accepts connections and never says a word (no 220 greeting). */
export async function startSilentRelay(port = 0): Promise<{ port: number; accepted: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    accepted: () => accepted,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Subject and text of a single-part text message (what the notifier sends), decoded. */
export function parseMessage(raw: string): { subject: string; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string): string | undefined => head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim();
  const subject = decodeWords(header('Subject') ?? '');
  const encoding = (header('Content-Transfer-Encoding') ?? '7bit').toLowerCase();
  let text = body;
  if (encoding === 'quoted-printable') text = decodeQp(body);
  else if (encoding === 'base64') text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { subject, text: text.replace(/\r\n/g, '\n') };
}

function decodeQp(s: string): string {
  const t = s.replace(/=\r?\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const hex = t.slice(i + 1, i + 3);
    if (t[i] === '=' && /^[0-9A-F]{2}$/i.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(...Buffer.from(t[i]!, 'utf8'));
  }
  return Buffer.from(out).toString('utf8');
}

/** RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`). */
function decodeWords(s: string): string {
  return s.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=\s*(?==\?)?/g, (_m, _cs: string, enc: string, data: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQp(data.replace(/_/g, ' ')));
}
