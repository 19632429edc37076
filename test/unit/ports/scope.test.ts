// The identity rule as a table: uid x lineage x PM2 marks x cwd, under every scope. Pure.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judge, type HolderFacts, type Rule, type ScopeContext } from '../../../src/ports/scope.js';

const APP_UID = 1000;
const NOBODY = 65534;
const HOME = '/home/ops/.pm2';
const APP_CWD = '/srv/helpdesk';
const APP = { pmId: 3, name: 'helpdesk-backend' };
const OTHER = { pmId: 4, name: 'billing' };

const ctx = (patch: Partial<ScopeContext> = {}): ScopeContext => ({
  protectedPids: new Map([
    [1, 'PID 1 (init)'],
    [500, 'the PM2 daemon'],
    [600, 'helpdesk-monitor itself'],
    [599, 'an ancestor of this process'],
  ]),
  scope: 'app',
  app: { name: APP.name, uid: APP_UID, pmIds: new Set([APP.pmId]), instances: new Map([[700, 111], [701, undefined]]), cwd: APP_CWD },
  pm2Home: HOME,
  otherApps: new Map([[800, OTHER.name]]),
  ...patch,
});

const appMarks = { pmId: APP.pmId, name: APP.name, pm2Home: HOME };
const otherMarks = { pmId: OTHER.pmId, name: OTHER.name, pm2Home: HOME };

const holder = (pid: number, patch: Partial<HolderFacts> = {}): HolderFacts => ({
  pid, uid: APP_UID, command: '/usr/bin/python3 -m http.server', cwd: '/home/someone', marks: {}, lineage: [{ pid: 42 }], ...patch,
});

interface Row {
  readonly what: string;
  readonly facts: HolderFacts;
  readonly app: [boolean, Rule];
  readonly user: [boolean, Rule];
  readonly any?: boolean;
}

const rows: Row[] = [
  { what: 'an instance (pid and start time match)', facts: holder(700, { startTicks: 111 }), app: [true, 'instance'], user: [true, 'uid'] },
  { what: 'an instance seen earlier whose pid now names a later process', facts: holder(700, { startTicks: 999 }), app: [false, 'not-the-app'], user: [true, 'uid'] },
  { what: 'a descendant of an instance', facts: holder(900, { lineage: [{ pid: 701 }, { pid: 500 }] }), app: [true, 'descendant'], user: [true, 'uid'] },
  { what: "an orphan carrying the app's pm_id", facts: holder(901, { marks: appMarks }), app: [true, 'pm2-marks'], user: [true, 'uid'] },
  { what: "a cluster sibling carrying the app's name (another pm_id)", facts: holder(902, { marks: { ...appMarks, pmId: 9 } }), app: [true, 'pm2-marks'], user: [true, 'uid'] },
  { what: "in the app's cwd, no PM2 marks", facts: holder(903, { cwd: APP_CWD }), app: [true, 'cwd'], user: [true, 'uid'] },
  { what: "in the app's cwd with PM2_HOME but no pm_id (an operator's shell, a pm2 CLI)", facts: holder(914, { cwd: APP_CWD, marks: { pm2Home: HOME } }), app: [true, 'cwd'], user: [true, 'uid'] },
  { what: "in the app's cwd, environment unreadable", facts: holder(904, { cwd: APP_CWD, marks: undefined }), app: [false, 'cwd'], user: [true, 'uid'] },
  { what: "in the app's cwd carrying another app's pm_id", facts: holder(905, { cwd: APP_CWD, marks: otherMarks }), app: [false, 'other-app'], user: [false, 'other-app'] },
  { what: "in the app's cwd, descending from another app's instance", facts: holder(906, { cwd: APP_CWD, lineage: [{ pid: 800 }] }), app: [false, 'other-app'], user: [false, 'other-app'] },
  { what: "in the app's cwd, an ancestor carries another app's pm_id", facts: holder(907, { cwd: APP_CWD, lineage: [{ pid: 50, marks: otherMarks }] }), app: [false, 'other-app'], user: [false, 'other-app'] },
  { what: "another app's instance", facts: holder(800, { cwd: APP_CWD }), app: [false, 'other-app'], user: [false, 'other-app'] },
  { what: "the app's pm_id of another PM2_HOME", facts: holder(908, { marks: { ...appMarks, pm2Home: '/root/.pm2' } }), app: [false, 'other-app'], user: [false, 'other-app'] },
  { what: "nobody's process in the app's cwd", facts: holder(909, { uid: NOBODY, cwd: APP_CWD }), app: [false, 'uid'], user: [false, 'uid'] },
  { what: "nobody's process carrying the app's pm_id", facts: holder(910, { uid: NOBODY, marks: appMarks }), app: [false, 'uid'], user: [false, 'uid'] },
  { what: "nobody's descendant of an instance", facts: holder(911, { uid: NOBODY, lineage: [{ pid: 700 }] }), app: [false, 'uid'], user: [false, 'uid'] },
  { what: "a stranger of the app's uid", facts: holder(912), app: [false, 'not-the-app'], user: [true, 'uid'] },
  { what: "a command line that contains the app's script (server.js.bak)", facts: holder(913, { command: `node ${APP_CWD}/server.js.bak` }), app: [false, 'not-the-app'], user: [true, 'uid'] },
];

describe('judge: the identity rule, as a table', () => {
  for (const r of rows) {
    test(r.what, () => {
      for (const [scope, [kill, rule]] of [['app', r.app], ['user', r.user]] as const) {
        const v = judge(r.facts, ctx({ scope }));
        assert.equal(v.kill, kill, `${scope}: ${v.why}`);
        assert.equal(v.rule, rule, `${scope}: ${v.why}`);
        if (!v.kill) assert.match(v.why, /kill_scope (user|any) would allow it/, `${scope}: the refusal names the setting that would allow it`);
      }
      assert.equal(judge(r.facts, ctx({ scope: 'any' })).kill, r.any ?? true);
    });
  }
});

describe('judge: never-killed pids', () => {
  for (const scope of ['app', 'user', 'any', 'port'] as const) {
    test(`refused under scope ${scope}, even when they look like the app`, () => {
      for (const pid of [1, 500, 600, 599]) {
        const v = judge(holder(pid, { cwd: APP_CWD, marks: appMarks }), ctx({ scope, app: { ...ctx().app, instances: new Map([[pid, undefined]]) } }));
        assert.equal(v.kill, false, `${scope} ${pid}`);
        assert.equal(v.rule, 'never-killed');
        assert.match(v.why, /^protected: /);
      }
    });
  }
});

describe('judge: places that identify nothing', () => {
  test('a cwd of / never identifies the app', () => {
    const v = judge(holder(920, { cwd: '/' }), ctx({ app: { ...ctx().app, cwd: '/' } }));
    assert.equal(v.kill, false);
    assert.equal(v.rule, 'not-the-app');
  });

  test('outside PM2 (no PM2_HOME in the scope) any PM2 app process is another app', () => {
    const { pm2Home: _h, ...outside } = ctx();
    const v = judge(holder(921, { cwd: APP_CWD, marks: appMarks }), outside);
    assert.equal(v.kill, false);
    assert.equal(v.rule, 'other-app');
  });

  test('outside PM2, a process carrying PM2_HOME without pm_id is no app (an exec probe child)', () => {
    const { pm2Home: _h, ...outside } = ctx();
    const v = judge(holder(923, { marks: { pm2Home: HOME }, lineage: [{ pid: 701 }] }), outside);
    assert.equal(v.kill, true, v.why);
    assert.equal(v.rule, 'descendant');
  });

  test('kill_scope user means the app uid, not the monitor uid', () => {
    const v = judge(holder(922, { uid: NOBODY }), ctx({ scope: 'user', app: { ...ctx().app, uid: NOBODY } }));
    assert.equal(v.kill, true);
  });
});

describe('scope hung-daemon (supervisor.kill_hung_daemon)', () => {
  const hung = (patch: Partial<ScopeContext> = {}): ScopeContext => ctx({
    scope: 'hung-daemon', hungDaemon: { pid: 900, pm2Home: HOME },
    protectedPids: new Map([[1, 'PID 1 (init)'], [600, 'helpdesk-monitor itself']]), ...patch,
  });
  test('only the one daemon found hung, of the PM2_HOME owner', () => {
    assert.deepEqual(judge(holder(900), hung()).kill, true);
    assert.equal(judge(holder(900), hung()).rule, 'hung-daemon');
    const other = judge(holder(901), hung());
    assert.equal(other.kill, false);
    assert.match(other.why, /not the hung PM2 daemon \(pid 900\)/);
    assert.equal(judge(holder(900, { uid: NOBODY }), hung()).kill, false);
    assert.equal(judge(holder(900), hung({ hungDaemon: undefined })).kill, false);
  });
  test('the never-killed list still comes first', () => {
    assert.equal(judge(holder(1), hung({ hungDaemon: { pid: 1, pm2Home: HOME } })).rule, 'never-killed');
    assert.equal(judge(holder(600), hung({ hungDaemon: { pid: 600, pm2Home: HOME } })).kill, false);
  });
});
