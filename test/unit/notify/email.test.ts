// The email channel in the notifier, with an injected mail transport: one message per event,
// redacted; the same rate limit, retries and final outcomes as webhooks; the password read from
// its variable (and taken out of the environment) or file, never in a log line or an error.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { systemClock } from '../../../src/clock.js';
import { classifySmtpError } from '../../../src/notify/email.js';
import { createNotifier } from '../../../src/notify/notifier.js';
import type { EmailTarget, MailMessage, Notifier, NotifierOptions, NotifyEvent, SendMailFn, SmtpConnection } from '../../../src/notify/types.js';
import { captureLogger, until } from './receiver.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-email-ch-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const PASSWORD = 'smtp-Pa55-9f3e1c';

const target = (patch: Partial<EmailTarget> = {}): EmailTarget => ({
  format: 'email',
  smtp: { host: 'smtp.example.com', port: 587, security: 'starttls', user: 'monitor', password: { kind: 'env', name: 'HDM_TEST_SMTP_PW' } },
  from: 'monitor@example.com',
  to: ['ops@example.com', 'dev@example.com'],
  events: [],
  timeoutMs: 2000,
  ...patch,
});

const ev = (patch: Partial<NotifyEvent> = {}): NotifyEvent => ({
  type: 'remedy_failed', app: 'api', host: 'web-1', at: new Date(), reason: 'not healthy within 10 s', ...patch,
});

interface Sent { connection: SmtpConnection; message: MailMessage }

/** A transport that records and answers with `reply` (a value, or a thrown error). */
function fakeTransport(reply: (n: number) => unknown = () => ({ response: '250 OK queued' })): { sendMail: SendMailFn; sent: Sent[] } {
  const sent: Sent[] = [];
  const sendMail: SendMailFn = (connection, message) => {
    sent.push({ connection, message });
    const r = reply(sent.length);
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r as { response?: string });
  };
  return { sendMail, sent };
}

function notifier(options: Partial<NotifierOptions> & Pick<NotifierOptions, 'targets'>): { n: Notifier; log: ReturnType<typeof captureLogger> } {
  const log = captureLogger();
  const n = createNotifier({ logger: log.logger, clock: systemClock, retryBaseMs: 5, env: { HDM_TEST_SMTP_PW: PASSWORD }, ...options });
  cleanups.push(() => n.close(100));
  return { n, log };
}

const smtpError = (message: string, props: Record<string, unknown>): Error => Object.assign(new Error(message), props);

describe('email channel', () => {
  test('one event is one message to every recipient, with the login, the subject naming app and event, the body redacted', async () => {
    const t = fakeTransport();
    const { n, log } = notifier({ targets: [target()], sendMail: t.sendMail });
    n.notify(ev({ detail: 'last probe: GET http://127.0.0.1:5000/health?token=abcdef0123456789abcdef failed' }));
    await n.flush(2000);
    assert.equal(t.sent.length, 1);
    const [{ connection, message }] = t.sent as [Sent];
    assert.deepEqual(connection, { host: 'smtp.example.com', port: 587, security: 'starttls', auth: { user: 'monitor', pass: PASSWORD } });
    assert.deepEqual(message.to, ['ops@example.com', 'dev@example.com']);
    assert.equal(message.from, 'monitor@example.com');
    assert.equal(message.subject, 'helpdesk-monitor: api remedy-failed on web-1');
    assert.match(message.text, /^helpdesk-monitor api on web-1: remedy failed: not healthy within 10 s/);
    assert.ok(!message.text.includes('abcdef0123456789abcdef'), message.text);
    assert.match(message.text, /token=\*\*\*/);
    assert.equal(n.stats().sent, 1);
    assert.match(log.text(), /notification sent to email to ops@example\.com, dev@example\.com via smtp:\/\/smtp\.example\.com:587/);
    assert.ok(!log.text().includes(PASSWORD));
  });

  test('the password variable is taken out of the environment once read', () => {
    const env: NodeJS.ProcessEnv = { HDM_TEST_SMTP_PW: PASSWORD };
    const t = fakeTransport();
    notifier({ targets: [target()], sendMail: t.sendMail, env });
    assert.equal(env['HDM_TEST_SMTP_PW'], undefined, 'children the monitor starts do not inherit it');
  });

  test('a password file (chmod 600) works; one open to others is refused: every delivery final, said once, without the password', async () => {
    const good = join(dir, 'pw-good');
    writeFileSync(good, `${PASSWORD}\n`);
    chmodSync(good, 0o600);
    const t = fakeTransport();
    const a = notifier({ targets: [target({ smtp: { ...target().smtp, password: { kind: 'file', path: good } } })], sendMail: t.sendMail });
    a.n.notify(ev());
    await a.n.flush(2000);
    assert.equal(t.sent[0]?.connection.auth?.pass, PASSWORD, 'the trailing newline is the editor\'s');

    const open = join(dir, 'pw-open');
    writeFileSync(open, PASSWORD);
    chmodSync(open, 0o644);
    const u = fakeTransport();
    const b = notifier({ targets: [target({ smtp: { ...target().smtp, password: { kind: 'file', path: open } } })], sendMail: u.sendMail });
    b.n.notify(ev());
    await b.n.flush(2000);
    assert.equal(u.sent.length, 0, 'nothing is sent without its password');
    assert.equal(b.n.stats().failed, 1);
    assert.match(b.log.text(), /cannot be sent: .*chmod 600/);
    assert.match(b.log.text(), /rejected: .*\(not retried\)/);
    assert.ok(!b.log.text().includes(PASSWORD));
  });

  test('the password variable unset: final, naming the variable', async () => {
    const t = fakeTransport();
    // Another variable: fsx/secret.ts remembers one it has taken, for the next reload.
    const { n, log } = notifier({ targets: [target({ smtp: { ...target().smtp, password: { kind: 'env', name: 'HDM_TEST_SMTP_UNSET' } } })], sendMail: t.sendMail, env: {} });
    n.notify(ev());
    await n.flush(2000);
    assert.equal(t.sent.length, 0);
    assert.match(log.text(), /the password of the SMTP login: the environment variable HDM_TEST_SMTP_UNSET is not set/);
  });

  test('a refused connection and a 4xx are retried, then dropped with a log line; the password never in it', async () => {
    const t = fakeTransport(() => smtpError(`connect ECONNREFUSED 127.0.0.1:48699 (login monitor/${PASSWORD})`, { code: 'ESOCKET' }));
    const { n, log } = notifier({ targets: [target()], sendMail: t.sendMail, retries: 2 });
    n.notify(ev());
    await n.flush(3000);
    assert.equal(t.sent.length, 3, 'the first try and 2 retries');
    assert.equal(n.stats().failed, 1);
    assert.match(log.text(), /notification to email to ops@example\.com, dev@example\.com via smtp:\/\/smtp\.example\.com:587 failed after 3 attempts: ESOCKET: connect ECONNREFUSED/);
    assert.ok(!log.text().includes(PASSWORD), 'scrubbed from the error');

    const busy = fakeTransport((k) => (k === 1 ? smtpError('451 try later', { code: 'EENVELOPE', responseCode: 451 }) : { response: '250 ok' }));
    const b = notifier({ targets: [target()], sendMail: busy.sendMail });
    b.n.notify(ev());
    await b.n.flush(3000);
    assert.equal(busy.sent.length, 2);
    assert.equal(b.n.stats().sent, 1);
  });

  test('a 5xx (a refused login or recipient) is final at once', async () => {
    const t = fakeTransport(() => smtpError('Invalid login: 535 Authentication failed', { code: 'EAUTH', responseCode: 535 }));
    const { n, log } = notifier({ targets: [target()], sendMail: t.sendMail });
    n.notify(ev());
    await n.flush(2000);
    assert.equal(t.sent.length, 1);
    assert.match(log.text(), /rejected: EAUTH: Invalid login: 535 Authentication failed \(not retried\)/);
  });

  test('a relay that never answers is cut at the target timeout and retried: the notifier\'s own deadline', async () => {
    let calls = 0;
    const hang: SendMailFn = () => {
      calls++;
      return new Promise(() => undefined);
    };
    const { n, log } = notifier({ targets: [target({ timeoutMs: 100 })], sendMail: hang, retries: 1 });
    const t0 = performance.now();
    n.notify(ev());
    await until(() => n.stats().failed === 1, 3000, 'given up');
    assert.equal(calls, 2);
    assert.ok(performance.now() - t0 < 1500, 'two attempts of 100 ms and a short backoff');
    assert.match(log.text(), /failed after 2 attempts: no answer within 100 ms/);
  });

  test('events and the per-app rate limit are the webhooks\': one limit across webhook and email', async () => {
    const t = fakeTransport();
    const posts: string[] = [];
    const { n } = notifier({
      targets: [target({ events: ['remedy_failed'] }), { url: 'http://127.0.0.1:9/x', format: 'json', events: [], timeoutMs: 1000 }],
      sendMail: t.sendMail,
      post: (_u, body) => {
        posts.push(body);
        return Promise.resolve(200);
      },
      perAppLimit: { max: 2, perMs: 60_000 },
    });
    n.notify(ev({ type: 'remedy_started' }));
    n.notify(ev());
    n.notify(ev());
    await n.flush(2000);
    assert.equal(t.sent.length, 1, 'remedy_started is not in the email\'s events; the third event is over the limit');
    assert.equal(posts.length, 2);
    assert.equal(n.stats().rateLimited, 1);
  });
});

describe('SMTP outcomes', () => {
  const cases: [Record<string, unknown>, 'retry' | 'final'][] = [
    [{ code: 'ECONNECTION' }, 'retry'],
    [{ code: 'ETIMEDOUT' }, 'retry'],
    [{ code: 'ESOCKET' }, 'retry'],
    [{ code: 'EENVELOPE', responseCode: 450 }, 'retry'],
    [{ code: 'EMESSAGE', responseCode: 421 }, 'retry'],
    [{ code: 'EENVELOPE', responseCode: 550 }, 'final'],
    [{ code: 'EAUTH', responseCode: 535 }, 'final'],
    [{ code: 'EAUTH' }, 'final'],
    [{ code: 'ETLS' }, 'final'],
    [{ code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'final'],
    [{ code: 'ESOCKET', originalCode: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'final'],
    [{ code: 'ESOCKET', originalCode: 'ECONNRESET' }, 'retry'],
    [{}, 'retry'],
  ];
  for (const [props, kind] of cases) {
    test(`${JSON.stringify(props)} -> ${kind}`, () => {
      assert.equal(classifySmtpError(smtpError('x', props), []).kind, kind);
    });
  }
});
