// The module's actions without @pm2/io: parameters read from PM2's one string, every action
// replies exactly once (its answer, its error, or a timeout), and the control actions write the
// requests the CLI writes. test/integration/module-actions.test.ts runs them through `pm2 trigger`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { answer, monitorActions, paramWords, type ActionReply, type ActionTarget } from '../../../src/app/actions.js';
import type { ControlRequest } from '../../../src/app/control.js';
import { initialState, type Phase } from '../../../src/engine/decide.js';
import type { Requester, WorkerView } from '../../../src/engine/view.js';
import type { StatusDocument } from '../../../src/status/live.js';

const WALL = Date.parse('2024-05-01T12:00:00.000Z');
const ME: Requester = { user: 'ops', uid: 1000, pid: 4242, via: 'pm2 trigger' };

function view(app: string, phase: Phase, extra: Partial<WorkerView> = {}): WorkerView {
  return { app, state: { ...initialState(0), phase, ...(phase === 'unhealthy' ? { lastReason: 'health timeout (3/3)' } : {}) }, history: [], control: {}, resetSeen: 0, ...extra };
}

/** A monitor watching `api` and `web`; checks end when the test says so. */
class FakeMonitor implements ActionTarget {
  views_: WorkerView[] = [view('api', 'healthy'), view('web', 'unhealthy')];
  checked: string[] = [];
  /** Per app: let its pending check end. */
  release = new Map<string, () => void>();
  requests: { app: string; request: ControlRequest; by: Requester }[] = [];
  holdChecks = false;
  failControl: Error | undefined;
  appNames(): string[] {
    return this.views_.map((v) => v.app);
  }
  checkFresh(app: string): Promise<void> | undefined {
    if (!this.appNames().includes(app)) return undefined;
    this.checked.push(app);
    if (!this.holdChecks) return Promise.resolve();
    return new Promise((resolve) => this.release.set(app, resolve));
  }
  views(): WorkerView[] {
    return this.views_;
  }
  statusDocument(): StatusDocument {
    return { healthy: false, monitor: { pid: 1, hostname: 'h', started_at: '2024-05-01T11:00:00.000Z', live: true }, apps: [] };
  }
  requestControl(app: string, request: ControlRequest, by: Requester): void {
    if (this.failControl) throw this.failControl;
    this.requests.push({ app, request, by });
  }
  reloads = 0;
  reloadResult = { ok: true, message: 'config reloaded from /srv/m.yaml: 2 app(s): api, web' };
  reload(): Promise<{ ok: boolean; message: string }> {
    this.reloads++;
    return Promise.resolve(this.reloadResult);
  }
}

/** Call an action and collect every reply it makes within `settleMs` after the first. */
async function trigger(target: ActionTarget, name: string, params: unknown, options: { timeoutMs?: number; checkWaitMs?: number } = {}, settleMs = 20): Promise<{ reply: ActionReply; count: number; ms: number }> {
  const action = monitorActions(target, { by: () => ME, wallNow: () => WALL, ...options }).find((a) => a.name === name);
  assert.ok(action, `an action named ${name}`);
  const replies: ActionReply[] = [];
  const started = performance.now();
  let ms = 0;
  await new Promise<void>((resolve) => {
    action.handle(params, (r) => {
      if (replies.length === 0) ms = performance.now() - started;
      replies.push(r);
      setTimeout(resolve, settleMs);
    });
  });
  return { reply: replies[0]!, count: replies.length, ms };
}

describe('paramWords', () => {
  test('no parameter is no word; a string is split on white space', () => {
    assert.deepEqual(paramWords(undefined), []);
    assert.deepEqual(paramWords(null), []);
    assert.deepEqual(paramWords({}), [], 'PM2 hands an empty object when `pm2 trigger` has no parameter');
    assert.deepEqual(paramWords('   '), []);
    assert.deepEqual(paramWords('  hd \t 30m '), ['hd', '30m']);
  });

  test('anything else is refused', () => {
    assert.throws(() => paramWords(['hd']), /one string of words.*an array/);
    assert.throws(() => paramWords({ app: 'hd' }), /one string of words.*object/);
    assert.throws(() => paramWords(42), /number/);
  });
});

describe('answer', () => {
  test('replies once with the result, or with the error', async () => {
    const got: ActionReply[] = [];
    answer(() => ({ ok: true, n: 1 }), (r) => got.push(r), 1000, 'x');
    answer(() => Promise.reject(new Error('boom')), (r) => got.push(r), 1000, 'y');
    answer(() => {
      throw new Error('sync boom');
    }, (r) => got.push(r), 1000, 'z');
    await new Promise((r) => setTimeout(r, 20));
    const byText = (a: ActionReply, b: ActionReply): number => JSON.stringify(a).localeCompare(JSON.stringify(b));
    assert.deepEqual(got.sort(byText), [{ ok: false, error: 'boom' }, { ok: false, error: 'sync boom' }, { ok: true, n: 1 }]);
  });

  test('an action that never ends replies a timeout error, and a late answer is dropped', async () => {
    const got: ActionReply[] = [];
    let finish: (r: ActionReply) => void = () => undefined;
    answer(() => new Promise<ActionReply>((resolve) => (finish = resolve)), (r) => got.push(r), 40, 'slow');
    await new Promise((r) => setTimeout(r, 80));
    finish({ ok: true });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, [{ ok: false, error: 'slow did not finish within 40 ms' }]);
  });

  test('replies are redacted; a reply function that throws does not escape', async () => {
    const got: ActionReply[] = [];
    answer(() => ({ ok: false, error: 'GET http://user:s3cret@127.0.0.1:5000/health?token=abc failed' }), (r) => got.push(r), 1000, 'x');
    answer(() => ({ ok: true }), () => {
      throw new Error('channel closed');
    }, 1000, 'y');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(got.length, 1);
    const text = JSON.stringify(got[0]);
    assert.ok(!text.includes('s3cret') && !text.includes('abc'), text);
  });
});

describe('check-now', () => {
  test('without a parameter: checks every app, replies once they are done, with one line each', async () => {
    const m = new FakeMonitor();
    const { reply, count } = await trigger(m, 'check-now', {});
    assert.deepEqual(m.checked, ['api', 'web']);
    assert.equal(count, 1);
    assert.deepEqual(reply, {
      ok: true, healthy: false,
      apps: [{ name: 'api', healthy: true, phase: 'healthy' }, { name: 'web', healthy: false, phase: 'unhealthy', reason: 'health timeout (3/3)' }],
    });
  });

  test('one app by name; an unknown name is an error and checks nothing', async () => {
    const m = new FakeMonitor();
    assert.deepEqual((await trigger(m, 'check-now', 'api')).reply, { ok: true, healthy: true, apps: [{ name: 'api', healthy: true, phase: 'healthy' }] });
    const bad = await trigger(m, 'check-now', 'nosuchapp');
    assert.deepEqual(bad.reply, { ok: false, error: 'unknown app "nosuchapp" (watched: api, web)' });
    assert.deepEqual(m.checked, ['api']);
  });

  test('checks that do not end in time: the reply comes at the wait, naming them', async () => {
    const m = new FakeMonitor();
    m.holdChecks = true;
    const pending = trigger(m, 'check-now', {}, { checkWaitMs: 60 });
    await new Promise((r) => setTimeout(r, 10));
    m.release.get('api')!();
    const { reply, count, ms } = await pending;
    assert.equal(count, 1);
    assert.ok(ms >= 55 && ms < 1000, `replied after ${ms} ms`);
    assert.equal(reply.ok, true);
    assert.deepEqual((reply as { unfinished?: string[] }).unfinished, ['web']);
    assert.equal((reply as unknown as { apps: unknown[] }).apps.length, 2);
  });

  test('a not yet checked app says so', async () => {
    const m = new FakeMonitor();
    m.views_ = [view('api', 'unknown')];
    assert.deepEqual((await trigger(m, 'check-now', '')).reply, { ok: true, healthy: false, apps: [{ name: 'api', healthy: false, phase: 'unknown', reason: 'not checked yet' }] });
  });

  test('too many words is a usage error', async () => {
    const { reply } = await trigger(new FakeMonitor(), 'check-now', 'api web');
    assert.deepEqual(reply, { ok: false, error: 'usage: pm2 trigger helpdesk-monitor check-now [APP]; got 2 parameter word(s)' });
  });
});

describe('status', () => {
  test('replies the status document', async () => {
    const m = new FakeMonitor();
    assert.deepEqual((await trigger(m, 'status', {})).reply, { ok: true, status: m.statusDocument() });
    assert.equal((await trigger(m, 'status', 'api')).reply.ok, false, 'status takes no parameter');
  });
});

describe('reset-circuit, pause, resume', () => {
  test('each writes its request with who asked, and says what it did', async () => {
    const m = new FakeMonitor();
    assert.deepEqual((await trigger(m, 'reset-circuit', 'web')).reply, { ok: true, app: 'web', done: 'reset', message: 'web: circuit reset requested' });
    assert.deepEqual((await trigger(m, 'pause', 'web 30m')).reply, {
      ok: true, app: 'web', done: 'pause', paused_until: '2024-05-01T12:30:00.000Z', message: 'web: remedies paused until 2024-05-01T12:30:00.000Z',
    });
    assert.equal((await trigger(m, 'pause', 'api indefinite')).reply.ok, true);
    assert.deepEqual((await trigger(m, 'resume', 'web')).reply, { ok: true, app: 'web', done: 'resume', message: 'web: remedies resumed' });
    assert.deepEqual(m.requests, [
      { app: 'web', request: { kind: 'reset' }, by: ME },
      { app: 'web', request: { kind: 'pause', until: WALL + 30 * 60_000 }, by: ME },
      { app: 'api', request: { kind: 'pause', until: 'indefinite' }, by: ME },
      { app: 'web', request: { kind: 'resume' }, by: ME },
    ]);
  });

  test('bad input is an error reply and writes nothing', async () => {
    const m = new FakeMonitor();
    const cases: [string, unknown, RegExp][] = [
      ['reset-circuit', 'nosuchapp', /^unknown app "nosuchapp"/],
      ['reset-circuit', {}, /^usage: pm2 trigger helpdesk-monitor reset-circuit APP; got 0/],
      ['pause', 'web', /^usage: pm2 trigger helpdesk-monitor pause "APP DURATION" \(one parameter: quote it\); got 1/],
      ['pause', 'web 5x', /^DURATION: expected a duration like 30m \(or "indefinite"\), got "5x"/],
      ['pause', 'web 0s', /^DURATION: .*got "0s"/],
      ['pause', 'nosuchapp 5m', /^unknown app/],
      ['pause', { app: 'web' }, /one string of words/],
      ['resume', 'api web', /^usage: .*resume APP/],
    ];
    for (const [name, params, error] of cases) {
      const { reply, count } = await trigger(m, name, params);
      assert.equal(count, 1);
      assert.equal(reply.ok, false, `${name} ${JSON.stringify(params)}`);
      assert.match((reply as { error: string }).error, error);
    }
    assert.deepEqual(m.requests, []);
  });

  test('a request that cannot be written is an error reply', async () => {
    const m = new FakeMonitor();
    m.failControl = new Error('state dir /var/lib/hdm is writable by others');
    assert.deepEqual((await trigger(m, 'resume', 'api')).reply, { ok: false, error: 'state dir /var/lib/hdm is writable by others' });
  });
});

describe('reload-config', () => {
  test('reloads as SIGHUP does and replies with the result, good or bad', async () => {
    const m = new FakeMonitor();
    const good = await trigger(m, 'reload-config', undefined);
    assert.deepEqual(good.reply, { ok: true, message: 'config reloaded from /srv/m.yaml: 2 app(s): api, web' });
    m.reloadResult = { ok: false, message: 'config reload rejected, keeping the last good config: /srv/m.yaml: apps[0].health.interval: expected a duration, got "soon"' };
    const bad = await trigger(m, 'reload-config', '');
    assert.equal(bad.reply.ok, false);
    assert.match((bad.reply as { error: string }).error, /keeping the last good config: .*apps\[0\]\.health\.interval/);
    assert.equal(m.reloads, 2);
    const extra = await trigger(m, 'reload-config', 'now');
    assert.equal(extra.reply.ok, false, 'takes no parameter');
    assert.equal(m.reloads, 2);
  });
});
