/**
 * The default mail transport: nodemailer, one connection per message (a notice every few minutes
 * at most; a pool would hold a socket to the relay all day). Loaded on the first email, so
 * webhook-only configs never load it. Every wait has a deadline: DNS, connect, greeting and each
 * socket read are bounded by the target's timeout, and the notifier's own deadline aborts the
 * send (nodemailer closes the connection on the signal). Nothing is logged by nodemailer (its
 * debug output would show the AUTH exchange), and it may not read files or URLs named in a message.
 */
import type { SendMailFn } from './types.js';

export const sendMailWithNodemailer: SendMailFn = async (connection, message, timeoutMs, signal) => {
  const nodemailer = (await import('nodemailer')).default;
  const transporter = nodemailer.createTransport({
    host: connection.host,
    port: connection.port,
    secure: connection.security === 'tls',
    requireTLS: connection.security === 'starttls',
    ignoreTLS: connection.security === 'none',
    ...(connection.auth ? { auth: { user: connection.auth.user, pass: connection.auth.pass } } : {}),
    tls: { minVersion: 'TLSv1.2', ...(connection.ca === undefined ? {} : { ca: connection.ca }) },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    socketCloseTimeout: 1000,
    logger: false,
    debug: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    const info = await transporter.sendMail({
      from: message.from,
      to: [...message.to],
      subject: message.subject,
      text: message.text,
      ...(signal ? { signal } : {}),
    });
    return { response: typeof info.response === 'string' ? info.response : undefined };
  } finally {
    transporter.close();
  }
};
