// judgeHolder, every branch, with an injected probe and wall clock: a live holder on this host is
// never displaced for its age, a dead or reused pid is stale, and a holder on another host is
// judged by its heartbeat alone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isNodeCommand, judgeHolder, type HolderFacts, type LockRecord } from '../../../src/lock/holder.js';

const HOST = 'box-a';
const NOW = Date.parse('2030-06-01T12:00:00.000Z');
const LIMIT = 10 * 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();

const record = (patch: Partial<LockRecord> = {}): LockRecord => ({
  pid: 4242,
  hostname: HOST,
  started_at: iso(NOW - 60_000),
  heartbeat_at: iso(NOW - 10_000),
  command: 'helpdesk-monitor run --config /srv/m.yaml',
  start_ticks: 777,
  ...patch,
});

type Probe = HolderFacts['probe'];

/** Facts with a probe that records the pids it was asked about. */
function facts(probe: Probe, patch: Partial<Omit<HolderFacts, 'probe'>> = {}): HolderFacts & { asked: number[] } {
  const asked: number[] = [];
  return {
    hostname: HOST,
    nowMs: NOW,
    remoteStaleAfterMs: LIMIT,
    ...patch,
    probe: (pid) => {
      asked.push(pid);
      return probe(pid);
    },
    asked,
  };
}

const alive = (startTicks?: number): Probe => () => (startTicks === undefined ? { alive: true } : { alive: true, startTicks });
const gone: Probe = () => undefined;
const mustNotProbe: Probe = (pid) => {
  throw new Error(`probed local pid ${pid} for a holder on another host`);
};

describe('judgeHolder: a holder on this host', () => {
  test('a live pid with matching start ticks is live', () => {
    const f = facts(alive(777));
    const v = judgeHolder(record(), f);
    assert.equal(v.live, true);
    assert.match(v.why, /live pid 4242/);
    assert.deepEqual(f.asked, [4242], 'the recorded pid was probed');
  });

  test('a live pid is never stale because of age (started and heartbeat years ago)', () => {
    const ancient = record({ started_at: '2001-01-01T00:00:00.000Z', heartbeat_at: '2001-01-01T00:00:00.000Z' });
    assert.equal(judgeHolder(ancient, facts(alive(777))).live, true);
    assert.equal(judgeHolder(ancient, facts(alive(777), { remoteStaleAfterMs: 0 })).live, true, 'even with a zero age limit');
    const unreadable = record({ heartbeat_at: 'not a date', started_at: 'not a date' });
    assert.equal(judgeHolder(unreadable, facts(alive(777))).live, true, 'unreadable times do not matter locally');
  });

  test('a pid that no longer runs is stale', () => {
    const v = judgeHolder(record(), facts(gone));
    assert.equal(v.live, false);
    assert.match(v.why, /holder pid 4242 is no longer running/);
  });

  test('a live pid with other start ticks is a reused pid: stale', () => {
    const v = judgeHolder(record({ start_ticks: 777 }), facts(alive(778)));
    assert.equal(v.live, false);
    assert.match(v.why, /pid 4242 now belongs to another process/);
    assert.match(v.why, /reused/);
  });

  test('start ticks 0 are compared too (not treated as missing)', () => {
    assert.equal(judgeHolder(record({ start_ticks: 0 }), facts(alive(5))).live, false);
    assert.equal(judgeHolder(record({ start_ticks: 5 }), facts(alive(0))).live, false);
    assert.equal(judgeHolder(record({ start_ticks: 0 }), facts(alive(0))).live, true);
  });

  test('without start ticks in the record, a live pid is live', () => {
    const { start_ticks: _omit, ...noTicks } = record();
    assert.equal(judgeHolder(noTicks, facts(alive(999))).live, true);
  });

  test('when the probe cannot read start ticks, a live pid is live', () => {
    assert.equal(judgeHolder(record({ start_ticks: 777 }), facts(alive())).live, true);
  });
});

describe('judgeHolder: the holder must still be the helpdesk-monitor that wrote the record', () => {
  const CMD = 'node /opt/hdm/dist/src/cli/index.js run --config /srv/m.yaml';
  const running = (cmdline: string, startTicks = 777): Probe => () => ({ alive: true, startTicks, cmdline });

  test('the same cmdline and start ticks: live', () => {
    assert.equal(judgeHolder(record({ cmdline: CMD }), facts(running(CMD))).live, true);
  });

  test('a live pid running another command line than the record says: stale, naming both', () => {
    const v = judgeHolder(record({ cmdline: CMD }), facts(running('node /srv/other-app/server.js')));
    assert.equal(v.live, false);
    assert.match(v.why, /pid 4242 runs "node \/srv\/other-app\/server\.js", not the helpdesk-monitor that wrote the lock \("node \/opt/);
  });

  test('a record naming a live process that is no node process (sshd, a shell, a kernel thread): stale, even with its exact cmdline and ticks', () => {
    for (const cmd of ['/usr/sbin/sshd -D', 'bash', '']) {
      const v = judgeHolder(record({ cmdline: cmd }), facts(running(cmd)));
      assert.equal(v.live, false, JSON.stringify(cmd));
      assert.match(v.why, /is not a helpdesk-monitor \(it runs /);
    }
  });

  test('an older record without cmdline naming a live node process: live (an upgrade never starts a second monitor)', () => {
    assert.equal(judgeHolder(record(), facts(running('node /usr/bin/helpdesk-monitor run'))).live, true);
    assert.equal(judgeHolder(record(), facts(running('/usr/sbin/cron -f'))).live, false, 'but not a non-node one');
  });

  test('control characters in a cmdline are escaped in the reason', () => {
    const v = judgeHolder(record({ cmdline: CMD }), facts(running('node x\u001b[2J')));
    assert.equal(v.why.includes('\u001b'), false);
    assert.match(v.why, /\\u001b/);
  });

  test('pid 1 never holds our lock, whatever the record says', () => {
    const f = facts(running('/sbin/init splash', 5));
    const v = judgeHolder(record({ pid: 1, start_ticks: 5, cmdline: '/sbin/init splash' }), f);
    assert.equal(v.live, false);
    assert.match(v.why, /names pid 1 \(init\)/);
  });

  test('a record naming this process: live only while this process holds the lock', () => {
    const mine = record({ pid: 500, cmdline: CMD });
    const held = judgeHolder(mine, facts(running(CMD), { self: { pid: 500, holds: true } }));
    assert.deepEqual(held, { live: true, why: 'held by this process (pid 500)' });
    const leftover = judgeHolder(mine, facts(running(CMD), { self: { pid: 500, holds: false } }));
    assert.equal(leftover.live, false);
    assert.match(leftover.why, /names this process \(pid 500\), which does not hold it: a leftover of an earlier start/);
  });

  test('isNodeCommand', () => {
    for (const c of ['node x.js', '/usr/bin/node --max-semi-space-size=2 /x/module.js', '/usr/bin/nodejs x', '/opt/node20 x', 'node /root/.pm2/modules/helpdesk-monitor/node_modules/helpdesk-mon']) assert.equal(isNodeCommand(c), true, c);
    for (const c of ['', 'bash', '/sbin/init', '/usr/bin/node_exporter --web', 'python3 node.py']) assert.equal(isNodeCommand(c), false, c);
  });
});

describe('judgeHolder: a holder on another host', () => {
  const remote = (heartbeatAgoMs: number, patch: Partial<LockRecord> = {}): LockRecord =>
    record({ hostname: 'box-b', heartbeat_at: iso(NOW - heartbeatAgoMs), started_at: '2001-01-01T00:00:00.000Z', ...patch });

  test('a fresh heartbeat is live, whatever the local pid table says', () => {
    const f = facts(mustNotProbe);
    const v = judgeHolder(remote(30_000), f);
    assert.equal(v.live, true);
    assert.match(v.why, /pid 4242 on box-b/);
    assert.match(v.why, /heartbeat 30 s ago/);
    assert.deepEqual(f.asked, [], 'a pid on another host is not probed here');
  });

  test('a heartbeat exactly at the limit is still live; one ms older is stale', () => {
    assert.equal(judgeHolder(remote(LIMIT), facts(mustNotProbe)).live, true);
    const v = judgeHolder(remote(LIMIT + 1), facts(mustNotProbe));
    assert.equal(v.live, false);
    assert.match(v.why, /has not renewed its heartbeat for 600 s/);
  });

  test('an old heartbeat is stale', () => {
    const v = judgeHolder(remote(3 * 24 * 3_600_000), facts(mustNotProbe));
    assert.equal(v.live, false);
    assert.match(v.why, /holder pid 4242 on box-b/);
  });

  test('a heartbeat from the future (clock skew) counts as fresh', () => {
    assert.equal(judgeHolder(remote(-5 * 60_000), facts(mustNotProbe)).live, true);
  });

  test('an unreadable heartbeat is stale', () => {
    const v = judgeHolder(remote(0, { heartbeat_at: 'yesterday-ish' }), facts(mustNotProbe));
    assert.equal(v.live, false);
    assert.match(v.why, /unreadable heartbeat/);
  });

  test('the limit comes from the facts', () => {
    assert.equal(judgeHolder(remote(61_000), facts(mustNotProbe, { remoteStaleAfterMs: 60_000 })).live, false);
    assert.equal(judgeHolder(remote(59_000), facts(mustNotProbe, { remoteStaleAfterMs: 60_000 })).live, true);
  });

  test('the hostname comparison is exact', () => {
    const f = facts(gone);
    assert.equal(judgeHolder(record({ hostname: 'BOX-A', heartbeat_at: iso(NOW) }), f).live, true, 'another host with a fresh heartbeat');
    assert.deepEqual(f.asked, []);
  });
});
