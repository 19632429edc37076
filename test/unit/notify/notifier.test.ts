import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { systemClock } from '../../../src/clock.js';
import { createNotifier, parseRetryAfter } from '../../../src/notify/notifier.js';
import type { Notifier, NotifierOptions, NotifyEvent, WebhookTarget } from '../../../src/notify/types.js';
import { captureLogger, FakeClock, startReceiver, until, type Receiver } from './receiver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(reply?: Receiver['reply']): Promise<Receiver> {
  const r = await startReceiver(reply);
  cleanups.push(() => r.close());
  return r;
}

function notifier(options: Partial<NotifierOptions> & Pick<NotifierOptions, 'targets'>): Notifier {
  const n = createNotifier({
    logger: captureLogger().logger,
    clock: systemClock,
    retryBaseMs: 5,
    ...options,
  });
  cleanups.push(() => n.close(100));
  return n;
}

const target = (url: string, patch: Partial<WebhookTarget> = {}): WebhookTarget => ({
  url,
  format: 'json',
  events: [],
  timeoutMs: 2000,
  ...patch,
});

let seq = 0;
const ev = (patch: Partial<NotifyEvent> = {}): NotifyEvent => ({
  type: 'remedy_failed',
  app: 'helpdesk-backend',
  host: 'web-1',
  at: new Date('2025-01-02T03:04:05.000Z'),
  detail: `n${seq++}`,
  ...patch,
});

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('delivery', () => {
  test('json, slack and discord payloads reach a real receiver as application/json', async () => {
    const r = await receiver();
    const n = notifier({
      targets: [
        target(`${r.base}/json`, { format: 'json', headers: { 'X-Team': 'ops' } }),
        target(`${r.base}/slack`, { format: 'slack' }),
        target(`${r.base}/discord`, { format: 'discord' }),
      ],
    });
    n.notify(ev({ type: 'circuit_opened', reason: '3 failed remedies', detail: 'until 14:05 UTC' }));
    await n.flush(5000);
    assert.equal(r.received.length, 3);
    const by = Object.fromEntries(r.received.map((x) => [x.path, x]));
    for (const x of r.received) {
      assert.equal(x.method, 'POST');
      assert.match(String(x.headers['content-type']), /^application\/json\b/);
      assert.equal(x.headers['user-agent'], 'helpdesk-monitor');
    }
    assert.equal(by['/json']!.headers['x-team'], 'ops');
    assert.deepEqual(JSON.parse(by['/json']!.body), {
      event: 'circuit_opened',
      app: 'helpdesk-backend',
      host: 'web-1',
      at: '2025-01-02T03:04:05.000Z',
      reason: '3 failed remedies',
      detail: 'until 14:05 UTC',
      source: 'helpdesk-monitor',
    });
    assert.deepEqual(JSON.parse(by['/slack']!.body), {
      text: '🚨 *helpdesk-monitor* helpdesk-backend on web-1: circuit opened after 3 failed remedies: no more automatic restarts until 14:05 UTC',
    });
    assert.deepEqual(JSON.parse(by['/discord']!.body), {
      content: '🚨 **helpdesk-monitor** helpdesk-backend on web-1: circuit opened after 3 failed remedies: no more automatic restarts until 14:05 UTC',
      username: 'helpdesk-monitor',
      allowed_mentions: { parse: [] },
    });
    assert.equal(n.stats().sent, 3);
  });

  test('each target gets only the events it asked for (empty = all)', async () => {
    const r = await receiver();
    const n = notifier({
      targets: [
        target(`${r.base}/all`),
        target(`${r.base}/circuit`, { events: ['circuit_opened', 'circuit_closed'] }),
        target(`${r.base}/failed`, { events: ['remedy_failed'] }),
      ],
    });
    for (const type of ['remedy_started', 'remedy_failed', 'circuit_opened', 'circuit_closed', 'remedy_succeeded'] as const) {
      n.notify(ev({ type }));
    }
    await n.flush(5000);
    const types = (path: string): string[] =>
      r.received.filter((x) => x.path === path).map((x) => (JSON.parse(x.body) as { event: string }).event);
    assert.deepEqual(types('/all'), ['remedy_started', 'remedy_failed', 'circuit_opened', 'circuit_closed', 'remedy_succeeded']);
    assert.deepEqual(types('/circuit'), ['circuit_opened', 'circuit_closed']);
    assert.deepEqual(types('/failed'), ['remedy_failed']);
  });

  test('one target receives its events in order', async () => {
    const r = await receiver((_p, n) => (n % 3 === 0 ? { status: 500 } : { status: 200 }));
    const n = notifier({ targets: [target(`${r.base}/x`)] });
    const details = Array.from({ length: 8 }, (_, i) => `d${i}`);
    for (const detail of details) n.notify(ev({ detail }));
    await n.flush(5000);
    const ok = r.received.filter((_x, i) => i % 3 !== 0).map((x) => (JSON.parse(x.body) as { detail: string }).detail);
    assert.deepEqual(ok, details);
  });

  test('no targets: notify is a no-op and flush/close resolve', async () => {
    const n = createNotifier({ targets: [], logger: captureLogger().logger, clock: systemClock });
    n.notify(ev());
    await n.flush();
    await n.close();
    assert.deepEqual(n.stats(), { sent: 0, failed: 0, attempts: 0, rateLimited: 0, dropped: 0, pending: 0 });
  });
});

describe('retries', () => {
  test('500 is retried with backoff until a 2xx', async () => {
    const r = await receiver((_p, n) => (n < 2 ? { status: 500 } : { status: 204 }));
    const log = captureLogger();
    const n = notifier({ targets: [target(`${r.base}/hook`)], logger: log.logger, retries: 3, retryBaseMs: 20 });
    n.notify(ev());
    await n.flush(5000);
    assert.equal(r.received.length, 3);
    assert.deepEqual(n.stats(), { sent: 1, failed: 0, attempts: 3, rateLimited: 0, dropped: 0, pending: 0 });
    // backoff: 10-20 ms, then 20-40 ms
    const gaps = [r.received[1]!.at - r.received[0]!.at, r.received[2]!.at - r.received[1]!.at];
    assert.ok(gaps[0]! >= 8, `gap ${gaps[0]}`);
    assert.ok(gaps[1]! >= 18, `gap ${gaps[1]}`);
    assert.equal(log.lines.filter((l) => l.includes('retry')).length, 2);
  });

  test('retries are bounded: 1 + retries attempts, then one warning', async () => {
    const r = await receiver(() => ({ status: 503 }));
    const log = captureLogger();
    const n = notifier({ targets: [target(`${r.base}/hook`)], logger: log.logger, retries: 2, retryBaseMs: 1 });
    n.notify(ev());
    await n.flush(5000);
    assert.equal(r.received.length, 3);
    assert.equal(n.stats().failed, 1);
    const warns = log.lines.filter((l) => JSON.parse(l).level === 'warn');
    assert.equal(warns.length, 1);
    assert.match(warns[0]!, /failed after 3 attempts: HTTP 503/);
  });

  test('400 is not retried', async () => {
    const r = await receiver(() => ({ status: 400 }));
    const log = captureLogger();
    const n = notifier({ targets: [target(`${r.base}/hook`)], logger: log.logger });
    n.notify(ev());
    await n.flush(5000);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(r.received.length, 1);
    assert.equal(n.stats().failed, 1);
    assert.match(log.text(), /rejected: HTTP 400 \(not retried\)/);
  });

  test('429 with Retry-After is retried after that many seconds', async () => {
    const r = await receiver((_p, n) => (n === 0 ? { status: 429, headers: { 'Retry-After': '1' } } : { status: 200 }));
    const n = notifier({ targets: [target(`${r.base}/hook`)], retryBaseMs: 1 });
    n.notify(ev());
    await n.flush(10_000);
    assert.equal(r.received.length, 2);
    const gap = r.received[1]!.at - r.received[0]!.at;
    // Upper bounds here and below leave a loaded machine room: what they rule out is far away
    // (retrying at once, waiting the full hour, a hang without deadline).
    assert.ok(gap >= 950 && gap < 5000, `gap ${gap}`);
  });

  test('Retry-After is capped by retryAfterMaxMs', async () => {
    const r = await receiver((_p, n) => (n === 0 ? { status: 503, headers: { 'Retry-After': '3600' } } : { status: 200 }));
    const n = notifier({ targets: [target(`${r.base}/hook`)], retryAfterMaxMs: 30 });
    n.notify(ev());
    await n.flush(5000);
    assert.equal(r.received.length, 2);
    const gap = r.received[1]!.at - r.received[0]!.at;
    assert.ok(gap >= 25 && gap < 3000, `gap ${gap}`);
  });

  test('connection refused is retried, then given up', async () => {
    const port = await closedPort();
    const log = captureLogger();
    const n = notifier({ targets: [target(`http://127.0.0.1:${port}/hook`)], logger: log.logger, retries: 1, retryBaseMs: 1 });
    n.notify(ev());
    await n.flush(5000);
    assert.equal(n.stats().attempts, 2);
    assert.equal(n.stats().failed, 1);
    assert.match(log.text(), /ECONNREFUSED/);
  });

  test('parseRetryAfter: seconds, HTTP date, garbage', () => {
    assert.equal(parseRetryAfter('2'), 2000);
    assert.equal(parseRetryAfter(' 0 '), 0);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(parseRetryAfter(new Date(1000).toUTCString(), 4000), 0);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });
});

describe('a target that hangs', () => {
  test('does not delay notify() nor a healthy target', async () => {
    const hang = await receiver(() => 'hang');
    const ok = await receiver();
    const n = notifier({
      targets: [target(`${hang.base}/hang`, { timeoutMs: 3000 }), target(`${ok.base}/ok`, { timeoutMs: 3000 })],
      retries: 0,
    });
    const t0 = performance.now();
    // notify() only queues: a few ms, but a loaded machine can take the CPU away for a while.
    // Waiting on the hanging target would take its 3 s deadline.
    for (let i = 0; i < 5; i++) {
      const s = performance.now();
      n.notify(ev());
      const took = performance.now() - s;
      assert.ok(took < 250, `notify took ${took} ms`);
    }
    await ok.waitFor(5, 2500);
    const healthyAfter = performance.now() - t0;
    assert.ok(healthyAfter < 2500, `healthy target served after ${healthyAfter} ms, before the hanging one's 3 s deadline`);
    await hang.waitFor(1, 2000);
    assert.equal(hang.received.length, 1, 'the hanging target gets one request at a time');
    // While the hang target still holds its request, notify stays instant.
    const s = performance.now();
    n.notify(ev());
    assert.ok(performance.now() - s < 250);
    await ok.waitFor(6, 2000);
  });

  test('each request has its own deadline (timeoutMs)', async () => {
    const hang = await receiver(() => 'hang');
    const log = captureLogger();
    const n = notifier({ targets: [target(`${hang.base}/hang`, { timeoutMs: 100 })], logger: log.logger, retries: 1, retryBaseMs: 1 });
    const t0 = performance.now();
    n.notify(ev());
    await n.flush(5000);
    const took = performance.now() - t0;
    assert.equal(hang.received.length, 2);
    assert.ok(took >= 190 && took < 4000, `took ${took} ms`);
    assert.match(log.text(), /failed after 2 attempts: no answer within 100 ms/);
  });

  test('an injected post that never settles is cut by the deadline too', async () => {
    let calls = 0;
    const n = notifier({
      targets: [target('http://127.0.0.1:9/x', { timeoutMs: 50 })],
      retries: 0,
      post: () => {
        calls++;
        return new Promise(() => undefined);
      },
    });
    n.notify(ev());
    await n.flush(2000);
    assert.equal(calls, 1);
    assert.equal(n.stats().failed, 1);
  });

  test('an injected post that throws synchronously is a retryable failure, not a crash', async () => {
    let calls = 0;
    const n = notifier({
      targets: [target('http://127.0.0.1:9/x')],
      retries: 1,
      retryBaseMs: 1,
      post: () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return Promise.resolve(200);
      },
    });
    n.notify(ev());
    await n.flush(2000);
    assert.equal(calls, 2);
    assert.equal(n.stats().sent, 1);
  });
});

describe('per-app rate limit', () => {
  test('drops beyond max per window, across targets, and logs once per window', async () => {
    const r = await receiver();
    const clock = new FakeClock();
    const log = captureLogger();
    const n = notifier({
      targets: [target(`${r.base}/a`), target(`${r.base}/b`)],
      clock,
      logger: log.logger,
      perAppLimit: { max: 3, perMs: 60_000 },
    });
    for (let i = 0; i < 7; i++) n.notify(ev({ app: 'flappy' }));
    n.notify(ev({ app: 'calm' }));
    await n.flush(5000);
    assert.equal(r.received.filter((x) => x.path === '/a').length, 4); // 3 flappy + 1 calm
    assert.equal(r.received.filter((x) => x.path === '/b').length, 4);
    assert.equal(n.stats().rateLimited, 4);
    const limited = (): string[] => log.lines.filter((l) => l.includes('rate-limited'));
    assert.equal(limited().length, 0, 'reported when the window ends, not per drop');

    clock.advance(30_000);
    n.notify(ev({ app: 'flappy' })); // same window: dropped
    assert.equal(limited().length, 0);

    clock.advance(30_000); // window over
    n.notify(ev({ app: 'flappy' })); // new window: sent, and the old window is reported
    await n.flush(5000);
    assert.equal(limited().length, 1);
    const line = JSON.parse(limited()[0]!) as { message: string; level: string; app: string };
    assert.equal(line.message, 'notifications for app flappy rate-limited: 5 dropped');
    assert.equal(line.level, 'warn');
    assert.equal(line.app, 'flappy');
    assert.equal(r.received.length, 10);

    // A window that ends with drops is reported by close() if nothing else comes.
    for (let i = 0; i < 4; i++) n.notify(ev({ app: 'flappy' }));
    await n.close(1000);
    assert.equal(limited().length, 2);
    assert.match(limited()[1]!, /rate-limited: 2 dropped/);
  });

  test('a window that ended is reported by the sweep timer without further events', async () => {
    const r = await receiver();
    const log = captureLogger();
    const n = notifier({ targets: [target(`${r.base}/a`)], logger: log.logger, perAppLimit: { max: 1, perMs: 50 } });
    n.notify(ev());
    n.notify(ev());
    await until(() => log.text().includes('rate-limited: 1 dropped'), 2000, 'the sweep');
  });
});

describe('queue bound', () => {
  test('a full queue drops the oldest and warns once', async () => {
    const r = await receiver();
    const log = captureLogger();
    const n = notifier({
      targets: [target(`${r.base}/q`)],
      logger: log.logger,
      queueMax: 3,
      perAppLimit: { max: 1000, perMs: 60_000 },
    });
    for (let i = 0; i < 10; i++) n.notify(ev({ detail: `q${i}` }));
    assert.equal(n.stats().pending, 3);
    await n.flush(5000);
    assert.deepEqual(
      r.received.map((x) => (JSON.parse(x.body) as { detail: string }).detail),
      ['q7', 'q8', 'q9'],
    );
    assert.equal(n.stats().dropped, 7);
    const drops = log.lines.filter((l) => l.includes('full (3)'));
    assert.equal(drops.length, 1);
  });
});

describe('logs never leak secrets', () => {
  test('token path, query, userinfo and header values are absent from every line', async () => {
    const flaky = await receiver((_p, n) => (n === 0 ? { status: 500 } : { status: 401 }));
    const hang = await receiver(() => 'hang');
    const port = await closedPort();
    const secrets = ['SECRETPATHTOKEN', 'QUERYTOKEN', 'HEADERSECRET', 'USERPASS', 'bob:', 'T0000', 'B0000', 'webhooks/123', Buffer.from('bob:USERPASS').toString('base64')];
    const log = captureLogger();
    const n = notifier({
      targets: [
        target(`${flaky.base.replace('//', '//bob:USERPASS@')}/services/T0000/B0000/SECRETPATHTOKEN?token=QUERYTOKEN`, {
          format: 'slack',
          headers: { 'X-Webhook-Secret': 'HEADERSECRET' },
        }),
        target(`${hang.base}/api/webhooks/123/SECRETPATHTOKEN`, { format: 'discord', timeoutMs: 50, headers: { Authorization: 'Bearer HEADERSECRET' } }),
        target(`http://127.0.0.1:${port}/hook/SECRETPATHTOKEN`, { headers: { 'X-Token': 'HEADERSECRET' } }),
      ],
      logger: log.logger,
      retries: 1,
      retryBaseMs: 1,
    });
    n.notify(ev({ type: 'remedy_started' }));
    await n.flush(5000);
    await n.close(100);
    // the receivers did get the secrets (so they were really used) ...
    assert.equal(flaky.received[0]!.headers['x-webhook-secret'], 'HEADERSECRET');
    // axios turns user:password@ into Basic auth
    assert.equal(flaky.received[0]!.headers.authorization, `Basic ${Buffer.from('bob:USERPASS').toString('base64')}`);
    assert.equal(hang.received[0]!.headers.authorization, 'Bearer HEADERSECRET');
    assert.match(flaky.received[0]!.path, /SECRETPATHTOKEN\?token=QUERYTOKEN$/);
    // ... and every outcome was logged, with redacted URLs only
    const text = log.text();
    assert.ok(log.lines.length >= 6, text);
    assert.match(text, /rejected: HTTP 401/);
    assert.match(text, /no answer within 50 ms/);
    assert.match(text, /ECONNREFUSED/);
    assert.ok(text.includes(`${flaky.base.replace('//', '//***@')}/services/***?token=***`), text);
    assert.ok(text.includes(`${hang.base}/api/***`), text);
    for (const s of secrets) assert.ok(!text.includes(s), `log contains ${s}:\n${text}`);
  });
});

describe('flush and close', () => {
  test('flush with a timeout resolves even when a target hangs; close aborts it', async () => {
    const hang = await receiver(() => 'hang');
    const log = captureLogger();
    const n = createNotifier({
      targets: [target(`${hang.base}/h`, { timeoutMs: 60_000 })],
      logger: log.logger,
      clock: systemClock,
    });
    n.notify(ev());
    n.notify(ev());
    let t = performance.now();
    await n.flush(50);
    assert.ok(performance.now() - t < 3000);
    assert.equal(n.stats().pending, 2);
    t = performance.now();
    await n.close(50);
    assert.ok(performance.now() - t < 3000);
    assert.equal(n.stats().pending, 0);
    assert.equal(n.stats().dropped, 2);
    assert.match(log.text(), /closed with 2 notification\(s\) undelivered/);
    // closed: notify is a no-op, close is idempotent, flush resolves
    n.notify(ev());
    assert.equal(n.stats().pending, 0);
    await n.close();
    await n.flush();
  });

  test('close delivers what is pending first', async () => {
    const r = await receiver();
    const n = createNotifier({ targets: [target(`${r.base}/c`)], logger: captureLogger().logger, clock: systemClock });
    for (let i = 0; i < 3; i++) n.notify(ev());
    await n.close();
    assert.equal(r.received.length, 3);
    assert.equal(n.stats().sent, 3);
  });

  test('notify never throws, even on odd input', () => {
    const n = notifier({ targets: [target('http://127.0.0.1:9/x')], post: () => Promise.resolve(200) });
    assert.doesNotThrow(() => n.notify(ev({ at: new Date(Number.NaN) })));
    assert.doesNotThrow(() => n.notify(null as unknown as NotifyEvent));
    assert.doesNotThrow(() => n.notify({ ...ev(), killed: 5 } as unknown as NotifyEvent));
  });
});

describe('bodies are redacted', () => {
  test('a reason or detail quoting a health URL reaches the receiver without its credentials', async () => {
    const r = await receiver();
    const n = notifier({ targets: [target(`${r.base}/json`), target(`${r.base}/slack`, { format: 'slack' })] });
    n.notify(ev({ reason: 'GET http://ops:PASSWORD-9@127.0.0.1:5000/health?token=QUERY-TOKEN-1 timed out', detail: 'last: http://127.0.0.1:5000/h/a1b2c3d4e5f6a7b8' }));
    await n.flush(5000);
    assert.equal(r.received.length, 2);
    for (const x of r.received) {
      for (const s of ['PASSWORD-9', 'QUERY-TOKEN-1', 'a1b2c3d4e5f6a7b8', 'ops:']) assert.ok(!x.body.includes(s), `${s} in ${x.body}`);
      assert.ok(x.body.includes('http://***@127.0.0.1:5000/health?token=***'), x.body);
    }
  });
});
