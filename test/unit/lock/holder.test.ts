// judgeHolder, every branch, with an injected probe and wall clock: a live holder on this host is
// never displaced for its age, a dead or reused pid is stale, and a holder on another host is
// judged by its heartbeat alone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judgeHolder, type HolderFacts, type LockRecord } from '../../../src/lock/holder.js';

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
