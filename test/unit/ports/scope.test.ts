import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judge, type HolderFacts, type ScopeContext } from '../../../src/ports/scope.js';

const ME = 1000;
const APP_CWD = '/srv/helpdesk';
const APP_SCRIPT = '/srv/helpdesk/server.js';

const ctx = (patch: Partial<ScopeContext> = {}): ScopeContext => ({
  protectedPids: new Map([
    [1, 'PID 1 (init)'],
    [500, 'the PM2 daemon'],
    [600, 'helpdesk-monitor itself'],
    [599, 'an ancestor of helpdesk-monitor'],
  ]),
  scope: 'app',
  appPids: new Set([700, 701]),
  appCwd: APP_CWD,
  appScript: APP_SCRIPT,
  otherApps: new Map([[800, 'billing']]),
  uid: ME,
  ...patch,
});

const holder = (pid: number, patch: Partial<HolderFacts> = {}): HolderFacts => ({
  pid, uid: ME, command: '/usr/bin/python3 -m http.server', cwd: '/home/someone', ...patch,
});

describe('judge: never-killed pids', () => {
  for (const scope of ['app', 'user', 'any', 'port'] as const) {
    test(`protected pids are refused under scope ${scope}`, () => {
      for (const [pid, why] of [
        [1, 'PID 1 (init)'],
        [500, 'the PM2 daemon'],
        [600, 'helpdesk-monitor itself'],
        [599, 'an ancestor of helpdesk-monitor'],
      ] as const) {
        // even when the pid also looks like the app's own process
        const v = judge(holder(pid, { uid: ME, cwd: APP_CWD, command: `node ${APP_SCRIPT}` }), ctx({ scope, appPids: new Set([pid]) }));
        assert.equal(v.kill, false, `${scope} ${pid}`);
        assert.equal(v.why, `protected: ${why}`);
      }
    });
  }
});

describe('judge: scope app', () => {
  test("the app's own pid (or a descendant listed in appPids) may be killed", () => {
    const v = judge(holder(701), ctx());
    assert.deepEqual(v, { kill: true, why: 'a process of the app' });
  });

  test("a process running in the app's cwd may be killed", () => {
    const v = judge(holder(900, { cwd: APP_CWD }), ctx());
    assert.equal(v.kill, true);
    assert.match(v.why, /app's directory \/srv\/helpdesk/);
  });

  test("a process running the app's script may be killed", () => {
    const v = judge(holder(901, { command: `node ${APP_SCRIPT} --port 5000` }), ctx());
    assert.equal(v.kill, true);
    assert.match(v.why, /app's script/);
  });

  test('a cwd that only starts with the app cwd does not match', () => {
    const v = judge(holder(902, { cwd: `${APP_CWD}-old` }), ctx());
    assert.equal(v.kill, false);
  });

  test('a process of another PM2 app is refused, even in the same cwd', () => {
    const v = judge(holder(800, { cwd: APP_CWD, command: `node ${APP_SCRIPT}` }), ctx());
    assert.deepEqual(v, { kill: false, why: 'a process of another PM2 app (billing)' });
  });

  test('a stranger is refused with a reason naming kill_scope', () => {
    const v = judge(holder(903), ctx());
    assert.equal(v.kill, false);
    assert.match(v.why, /kill_scope app/);
    assert.match(v.why, /user or any/);
  });

  test('without cwd/script facts only app pids are killable', () => {
    const c = ctx({ appCwd: undefined, appScript: undefined } as Partial<ScopeContext>);
    assert.equal(judge(holder(904, { cwd: undefined }), c).kill, false);
    assert.equal(judge(holder(905, { command: '' }), c).kill, false);
    assert.equal(judge(holder(700), c).kill, true);
  });

  test('a holder with unknown cwd does not match an app without cwd', () => {
    const c: ScopeContext = { protectedPids: new Map(), scope: 'app', appPids: new Set(), uid: ME };
    assert.equal(judge({ pid: 42, uid: ME, command: 'x' }, c).kill, false);
  });
});

describe('judge: scope user', () => {
  test('same uid may be killed', () => {
    const v = judge(holder(903), ctx({ scope: 'user' }));
    assert.equal(v.kill, true);
    assert.match(v.why, /same user \(uid 1000\)/);
  });

  test('another uid is refused and the reason names both uids', () => {
    const v = judge(holder(903, { uid: 0 }), ctx({ scope: 'user' }));
    assert.equal(v.kill, false);
    assert.match(v.why, /owned by uid 0, outside kill_scope user \(uid 1000\)/);
  });
});

describe('judge: scope any and port', () => {
  test('any kills a stranger of any uid', () => {
    assert.deepEqual(judge(holder(903, { uid: 0 }), ctx({ scope: 'any' })), { kill: true, why: 'kill_scope any' });
  });
  test('any kills another PM2 app too', () => {
    assert.equal(judge(holder(800), ctx({ scope: 'any' })).kill, true);
  });
  test('port (operator kill-port) kills a stranger', () => {
    const v = judge(holder(903, { uid: 33 }), ctx({ scope: 'port' }));
    assert.equal(v.kill, true);
    assert.match(v.why, /explicit kill-port/);
  });
});
