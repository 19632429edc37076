/**
 * The email channel: an event mailed through an SMTP relay (mail-format.ts for the words, smtp.ts
 * for nodemailer). The password is read once, when the channel is built (the notifier is rebuilt
 * on a reload), from its variable or chmod 600 file (fsx/secret.ts takes the variable out of the
 * environment, so what the monitor starts never inherits it); it is scrubbed from every error.
 * A password or CA that cannot be read makes every delivery final, said once at build time.
 *
 * Outcomes: the relay accepted = sent. An SMTP 4xx reply, a refused or dropped connection and a
 * timeout are retried; an SMTP 5xx reply (a rejected login, sender or recipient), a relay
 * without the STARTTLS we require, and a certificate we do not trust are final: sending the same again would get the same answer.
 */
import { readFileSync } from 'node:fs';
import { describeError } from '../errors.js';
import { readSecret } from '../fsx/secret.js';
import { redactText, scrub } from '../redact.js';
import { eventSet, type Channel, type Outcome } from './channel.js';
import { mailSubject, mailText } from './mail-format.js';
import type { EmailTarget, SendMailFn, SmtpConnection } from './types.js';

/** nodemailer error codes that no retry mends. */
const FINAL_CODES = new Set(['EAUTH', 'ENOAUTH', 'ETLS', 'EENVELOPE', 'EMESSAGE', 'ECONFIG', 'EREQUIRETLS']);

export function emailChannel(target: EmailTarget, sendMail: SendMailFn, env: NodeJS.ProcessEnv, warn: (message: string) => void): Channel {
  const { smtp } = target;
  const label = `email to ${target.to.join(', ')} via smtp://${smtp.host}:${smtp.port}`;
  const secrets: string[] = [];
  let connection: SmtpConnection = { host: smtp.host, port: smtp.port, security: smtp.security };
  let problem: string | undefined;
  try {
    if (smtp.user !== undefined && smtp.password !== undefined) {
      const source = smtp.password.kind === 'env' ? { env: smtp.password.name } : { file: smtp.password.path };
      const pass = readSecret(source, env, 'the password of the SMTP login', 1).toString('utf8');
      secrets.push(pass);
      connection = { ...connection, auth: { user: smtp.user, pass } };
    }
    if (smtp.caFile !== undefined) connection = { ...connection, ca: readFileSync(smtp.caFile, 'utf8') };
  } catch (err) {
    problem = redactText(scrub(describeError(err), secrets));
    warn(`notifications to ${label} cannot be sent: ${problem}`);
  }
  return {
    label,
    events: eventSet(target.events),
    timeoutMs: target.timeoutMs,
    bodyKey: 'email',
    // The subject is one line: it leads the body, and deliver() splits it off again.
    render: (event) => `${redactText(mailSubject(event))}\n${redactText(mailText(event))}`,
    async deliver(body, signal): Promise<Outcome> {
      if (problem !== undefined) return { kind: 'final', why: problem };
      const cut = body.indexOf('\n');
      const message = { from: target.from, to: target.to, subject: body.slice(0, cut), text: body.slice(cut + 1) };
      const info = await sendMail(connection, message, target.timeoutMs, signal);
      return { kind: 'ok', meta: info.response === undefined ? {} : { smtp: redactText(scrub(info.response.slice(0, 200), secrets)) } };
    },
    classifyError: (err) => classifySmtpError(err, secrets),
  };
}

/** A nodemailer error as an outcome; its words scrubbed of the password. */
export function classifySmtpError(err: unknown, secrets: readonly string[]): Outcome {
  const e = (err ?? {}) as { code?: unknown; responseCode?: unknown; originalCode?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  // nodemailer reports a certificate the relay's name or our CA does not vouch for as ESOCKET,
  // with Node's TLS code kept as originalCode: the same certificate will be refused again.
  const tlsRefused = typeof e.originalCode === 'string' && /CERT|SELF_SIGNED|^ERR_TLS|^ERR_SSL/.test(e.originalCode);
  const why = redactText(scrub(code ? `${code}: ${describeError(err)}` : describeError(err), secrets));
  if (typeof e.responseCode === 'number' && e.responseCode >= 400 && e.responseCode < 600) {
    return e.responseCode >= 500 ? { kind: 'final', why } : { kind: 'retry', why };
  }
  return tlsRefused || (code !== undefined && FINAL_CODES.has(code)) ? { kind: 'final', why } : { kind: 'retry', why };
}
