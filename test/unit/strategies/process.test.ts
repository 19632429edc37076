import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  classifyProcesses, cmdlineText, describeStop, isGoneState, matchesPattern, normalizeCommand, parsePid, startArgv, whyTheApp,
  type ProcRow,
} from '../../../src/strategies/process.js';

const ME = 1000;
const APP_CWD = '/srv/helpdesk';
const spec = { command: 'node server.js --port 5000', cwd: APP_CWD, pattern: 'helpdesk-server' };
const row = (pid: number, patch: Partial<ProcRow> = {}): ProcRow => ({
  pid, uid: ME, command: '/usr/bin/node /srv/helpdesk/helpdesk-server.js', cwd: APP_CWD, state: 'S', startTicks: 1000 + pid, ...patch,
});
const excluded = new Map([[1, 'PID 1 (init)'], [50, 'helpdesk-monitor itself'], [40, 'an ancestor of helpdesk-monitor']]);

describe('pidfile text', () => {
  test('the first word, a positive integer', () => {
    assert.equal(parsePid('1234\n'), 1234);
    assert.equal(parsePid('  77  extra'), 77);
    for (const bad of ['', '\n', 'abc', '-5', '0', '12.5', '99999999999', '0x10']) assert.equal(parsePid(bad), undefined, JSON.stringify(bad));
  });
});

describe('command lines', () => {
  test('a /proc cmdline becomes one line', () => {
    assert.equal(cmdlineText('node\0-e\0console.log(1)\0'), 'node -e console.log(1)');
    assert.equal(cmdlineText(''), '');
    assert.equal(normalizeCommand('  node   a\n b '), 'node a b');
  });
  test('the pattern is a plain substring; a blank pattern matches nothing', () => {
    assert.ok(matchesPattern('node /srv/helpdesk-server.js', 'helpdesk-server'));
    assert.ok(matchesPattern('python -m a.b', 'a.b'));
    assert.ok(!matchesPattern('python -m axb', 'a.b'), 'not a regular expression');
    assert.ok(!matchesPattern('anything', ''));
    assert.ok(!matchesPattern('anything', '   '));
    assert.ok(!matchesPattern('anything', undefined));
  });
  test('zombies and dead processes are gone', () => {
    assert.ok(isGoneState('Z') && isGoneState('X'));
    assert.ok(!isGoneState('S') && !isGoneState('R') && !isGoneState('D') && !isGoneState('T'));
  });
  test('the command starts through /bin/sh -c', () => {
    assert.deepEqual(startArgv('cd x && exec node a.js > /dev/null'), ['/bin/sh', ['-c', 'cd x && exec node a.js > /dev/null']]);
  });
});

describe('does a pidfile pid still look like the app', () => {
  test('the pattern, the command as the shell runs it, or the app directory', () => {
    assert.match(whyTheApp({ command: 'node /x/helpdesk-server.js', cwd: '/elsewhere' }, spec) ?? '', /contains "helpdesk-server"/);
    assert.match(whyTheApp({ command: '/bin/sh -c node  server.js --port 5000', cwd: '/elsewhere' }, { ...spec, pattern: undefined }) ?? '', /configured command/);
    // `node -e "a b"` exec'd by the shell: its argv shows no quotes, but it runs in the app directory
    assert.match(whyTheApp({ command: 'node -e a b', cwd: APP_CWD }, { ...spec, command: 'node -e "a b"', pattern: undefined }) ?? '', /app's directory/);
  });
  test('a reused pid running something else is not the app', () => {
    assert.equal(whyTheApp({ command: '/usr/sbin/sshd -D', cwd: '/' }, spec), undefined);
    assert.equal(whyTheApp({ command: 'sleep 100', cwd: '/home/u' }, spec), undefined);
    // the root directory says nothing about who a process is
    assert.equal(whyTheApp({ command: 'sleep 100', cwd: '/' }, { ...spec, cwd: '/' }), undefined);
  });
});

describe('classifying processes (fake /proc facts)', () => {
  test('the pidfile pid alive and looking like the app is an instance', () => {
    const s = classifyProcesses({ pidfile: { path: '/run/h.pid', pid: 100 }, rows: [row(100)], uid: ME }, spec, excluded);
    assert.deepEqual(s.instances.map((i) => [i.pid, i.via]), [[100, 'pidfile']]);
    assert.deepEqual(s.strangers, []);
    assert.deepEqual(s.notes, []);
  });
  test('a dead or zombie pidfile pid is a note, not an instance', () => {
    const dead = classifyProcesses({ pidfile: { path: '/run/h.pid', pid: 100 }, rows: [], uid: ME }, spec, excluded);
    assert.deepEqual(dead.instances, []);
    assert.match(dead.notes.join(), /names pid 100, which is not running/);
    const zombie = classifyProcesses({ pidfile: { path: '/run/h.pid', pid: 100 }, rows: [row(100, { state: 'Z' })], uid: ME }, spec, excluded);
    assert.deepEqual(zombie.instances, []);
  });
  test('a pidfile pid reused by another program is left alone and reported', () => {
    const s = classifyProcesses({ pidfile: { path: '/run/h.pid', pid: 100 }, rows: [row(100, { command: '/usr/sbin/cron -f', cwd: '/' })], uid: ME }, spec, excluded);
    assert.deepEqual(s.instances, []);
    assert.deepEqual(s.strangers, [], 'not even judged: it is not the app');
    assert.match(s.notes.join(), /pid 100 \(\/usr\/sbin\/cron -f, uid 1000, cwd \/\).*not the app any more.*left alone/);
  });
  test('a pidfile naming PID 1 or the monitor is left alone', () => {
    for (const pid of [1, 50, 40]) {
      const s = classifyProcesses({ pidfile: { path: '/run/h.pid', pid }, rows: [row(pid)], uid: ME }, spec, excluded);
      assert.deepEqual(s.instances, [], String(pid));
      assert.match(s.notes.join(), /left alone/);
    }
  });
  test('pidfile problems are notes', () => {
    const s = classifyProcesses({ pidfile: { path: '/run/h.pid', problem: 'no pidfile at /run/h.pid' }, rows: [], uid: ME }, spec, excluded);
    assert.deepEqual(s.notes, ['no pidfile at /run/h.pid']);
  });
  test('pattern matches: ours in the app directory are instances; another user or directory are strangers', () => {
    const rows = [
      row(200),
      row(201, { uid: 65534 }),
      row(202, { cwd: '/tmp/other' }),
      row(203, { cwd: undefined, uid: 65534 }),
      row(204, { command: 'unrelated' }),
      row(205, { state: 'Z' }),
      row(50), // the monitor itself, whose command line may well contain the pattern
      row(1),
    ];
    const s = classifyProcesses({ rows, uid: ME }, spec, excluded);
    assert.deepEqual(s.instances.map((i) => [i.pid, i.via]), [[200, 'pattern']]);
    assert.deepEqual(s.strangers.map((x) => x.pid), [201, 202, 203]);
    assert.match(s.strangers[0]!.why, /run by uid 65534, not ours \(1000\)/);
    assert.match(s.strangers[1]!.why, /runs in \/tmp\/other, not the app's directory \/srv\/helpdesk/);
  });
  test('the pidfile pid is not counted twice when it also matches the pattern', () => {
    const s = classifyProcesses({ pidfile: { path: '/run/h.pid', pid: 200 }, rows: [row(200), row(201)], uid: ME }, spec, excluded);
    assert.deepEqual(s.instances.map((i) => [i.pid, i.via]), [[200, 'pidfile'], [201, 'pattern']]);
  });
  test('no pattern: only the pidfile counts', () => {
    const s = classifyProcesses({ rows: [row(200)], uid: ME }, { ...spec, pattern: undefined }, excluded);
    assert.deepEqual(s.instances, []);
  });
});

describe('describing a stop', () => {
  test('each outcome in one line', () => {
    const line = describeStop({
      stopped: [
        { pid: 10, command: 'node a', uid: 0, outcome: 'SIGTERM', why: '' },
        { pid: 11, command: 'node b', uid: 0, outcome: 'SIGKILL', why: '' },
        { pid: 12, command: 'node c', uid: 0, outcome: 'gone', why: '' },
      ],
      stuck: [{ pid: 13, command: 'node d', uid: 0, outcome: 'stuck', why: 'not permitted to signal it' }],
      refused: [{ pid: 14, command: 'node e', uid: 65534, why: 'not a process of the app (kill_scope app)' }],
    }, 2000);
    assert.equal(line, [
      'stopped pid 10 (node a, uid 0) with SIGTERM',
      'killed pid 11 (node b, uid 0) with SIGKILL after 2000 ms',
      'pid 12 (node c, uid 0) was already gone',
      'could not stop pid 13 (node d, uid 0): not permitted to signal it',
      'refused pid 14 (node e, uid 65534): not a process of the app (kill_scope app)',
    ].join('; '));
    assert.equal(describeStop({ stopped: [], stuck: [], refused: [] }, 1), 'nothing to stop');
  });
});
