// The default mail transport (nodemailer) against a real SMTP server in-process: plain on
// loopback, STARTTLS and implicit TLS with the test certificate, a login, and what each failure
// comes to (a refused login is final; a relay down or silent is retried, each wait bounded).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, test } from 'node:test';
import { classifySmtpError } from '../../../src/notify/email.js';
import { sendMailWithNodemailer } from '../../../src/notify/smtp.js';
import type { MailMessage, SmtpConnection } from '../../../src/notify/types.js';
import { FIXTURE_CERT, startSilentRelay, startSmtpSink } from '../../helpers/smtp.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const CA = readFileSync(FIXTURE_CERT, 'utf8');
const PASS = 'relay-Pa55-4e1f';
const message: MailMessage = {
  from: 'monitor@example.com',
  to: ['ops@example.com', 'dev@example.com'],
  subject: 'helpdesk-monitor: api remedy-failed on web-1',
  text: `helpdesk-monitor api on web-1: remedy failed: ${'a long reason '.repeat(10)}\n\nevent: remedy_failed\n`,
};

async function sink(options: Parameters<typeof startSmtpSink>[0]) {
  const s = await startSmtpSink(options);
  cleanups.push(() => s.close());
  return s;
}

/** The outcome a failed send comes to. */
async function failure(connection: SmtpConnection, timeoutMs = 3000): Promise<{ kind: string; why: string; ms: number }> {
  const t0 = performance.now();
  try {
    await sendMailWithNodemailer(connection, message, timeoutMs);
  } catch (err) {
    const o = classifySmtpError(err, [PASS]);
    return { kind: o.kind, why: 'why' in o ? o.why : '', ms: performance.now() - t0 };
  }
  assert.fail('expected the send to fail');
}

test('plain on loopback: the message arrives whole, to every recipient', async () => {
  const s = await sink({ security: 'none' });
  const info = await sendMailWithNodemailer({ host: '127.0.0.1', port: s.port, security: 'none' }, message, 5000);
  assert.match(info.response ?? '', /^250 /);
  assert.equal(s.received.length, 1);
  const [m] = s.received;
  assert.equal(m!.from, 'monitor@example.com');
  assert.deepEqual(m!.to, ['ops@example.com', 'dev@example.com']);
  assert.equal(m!.subject, message.subject);
  assert.equal(m!.text.trim(), message.text.trim());
  assert.equal(m!.secure, false);
});

test('STARTTLS with the relay\'s CA and a login: encrypted before AUTH', async () => {
  const s = await sink({ security: 'starttls', login: { user: 'monitor', pass: PASS } });
  await sendMailWithNodemailer({ host: '127.0.0.1', port: s.port, security: 'starttls', auth: { user: 'monitor', pass: PASS }, ca: CA }, message, 5000);
  assert.equal(s.received.length, 1);
  assert.equal(s.received[0]!.secure, true, 'the session was upgraded');
  assert.equal(s.received[0]!.user, 'monitor');
});

test('implicit TLS (security tls)', async () => {
  const s = await sink({ security: 'tls' });
  await sendMailWithNodemailer({ host: '127.0.0.1', port: s.port, security: 'tls', ca: CA }, message, 5000);
  assert.equal(s.received[0]?.secure, true);
});

test('starttls against a relay that does not offer it: no message in clear text, final', async () => {
  const s = await sink({ security: 'none' });
  const f = await failure({ host: '127.0.0.1', port: s.port, security: 'starttls', auth: { user: 'monitor', pass: PASS } });
  assert.equal(s.received.length, 0);
  assert.equal(f.kind, 'final', f.why);
  assert.ok(!f.why.includes(PASS));
});

test('an untrusted certificate (no CA given) is refused, final', async () => {
  const s = await sink({ security: 'starttls' });
  const f = await failure({ host: '127.0.0.1', port: s.port, security: 'starttls' });
  assert.equal(s.received.length, 0);
  assert.equal(f.kind, 'final', f.why);
  assert.match(f.why, /certificate/i);
});

test('a wrong password: final (535), and the password is in no error', async () => {
  const s = await sink({ security: 'starttls', login: { user: 'monitor', pass: PASS } });
  const f = await failure({ host: '127.0.0.1', port: s.port, security: 'starttls', auth: { user: 'monitor', pass: `${PASS}-wrong` }, ca: CA });
  assert.equal(f.kind, 'final', f.why);
  assert.match(f.why, /EAUTH/);
  assert.deepEqual(s.failedLogins, ['monitor']);
  assert.ok(!f.why.includes(PASS));
});

test('a temporary refusal (451) is retried, a permanent one (554) is not', async () => {
  let code = 451;
  const s = await sink({ security: 'none', rejectWith: () => code });
  assert.equal((await failure({ host: '127.0.0.1', port: s.port, security: 'none' })).kind, 'retry');
  code = 554;
  assert.equal((await failure({ host: '127.0.0.1', port: s.port, security: 'none' })).kind, 'final');
});

test('nothing listening: retried, at once', async () => {
  const free = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
  const f = await failure({ host: '127.0.0.1', port: free, security: 'none' });
  assert.equal(f.kind, 'retry', f.why);
  assert.match(f.why, /ECONNREFUSED/);
  assert.ok(f.ms < 2000, `${f.ms} ms`);
});

test('a relay that accepts and never greets: given up at the timeout (nodemailer\'s own deadline), retried', async () => {
  const relay = await startSilentRelay();
  cleanups.push(() => relay.close());
  const f = await failure({ host: '127.0.0.1', port: relay.port, security: 'starttls' }, 700);
  assert.equal(relay.accepted(), 1);
  assert.equal(f.kind, 'retry', f.why);
  assert.ok(f.ms >= 600 && f.ms < 3000, `cut near 700 ms: ${Math.round(f.ms)} ms`);
});

test('the notifier\'s signal aborts a send in progress', async () => {
  const relay = await startSilentRelay();
  cleanups.push(() => relay.close());
  const ac = new AbortController();
  const t0 = performance.now();
  setTimeout(() => ac.abort(), 200);
  await assert.rejects(sendMailWithNodemailer({ host: '127.0.0.1', port: relay.port, security: 'none' }, message, 30_000, ac.signal));
  assert.ok(performance.now() - t0 < 2000, 'not the 30 s timeout');
});
