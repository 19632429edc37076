// The daemon judgement as sequences of pings: pure, no PM2.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GodProcess } from '../../../src/supervisor/god.js';
import { judgeDaemon, planResurrect } from '../../../src/supervisor/judge.js';

const god = (pid: number, state: GodProcess['state'] = 'running'): GodProcess => ({ pid, startTicks: 1, state, command: 'PM2 v7.0.4: God Daemon (/h)', seenBy: 'pid file and title' });

describe('judgeDaemon', () => {
  test('an answer ends it, whatever /proc says', () => {
    assert.equal(judgeDaemon(true, 0, [god(9), god(10)], true, 3, 2000).kind, 'answering');
  });

  test('no process, pid file left: dead (SIGKILL, OOM); no pid file: stopped cleanly, left alone', () => {
    assert.equal(judgeDaemon(false, 1, [], true, 3, 2000).kind, 'dead');
    const clean = judgeDaemon(false, 1, [], false, 3, 2000);
    assert.equal(clean.kind, 'stopped');
    assert.match((clean as { why: string }).why, /pm2 kill/);
  });

  test('a live daemon that does not answer is hung only after hung_after failed pings', () => {
    const seq = [1, 2, 3].map((n) => judgeDaemon(false, n, [god(9)], true, 3, 2000).kind);
    assert.deepEqual(seq, ['unsure', 'unsure', 'hung']);
    const hung = judgeDaemon(false, 3, [god(9)], true, 3, 2000);
    assert.match((hung as { why: string }).why, /pid 9\) is alive but did not answer 3 pings of 2000 ms/);
  });

  test('a stopped daemon (SIGSTOP) is hung at once: it cannot answer until continued', () => {
    const r = judgeDaemon(false, 1, [god(9, 'stopped')], true, 3, 2000);
    assert.equal(r.kind, 'hung');
    assert.match((r as { why: string }).why, /pid 9\) is stopped/);
  });

  test('two daemons for one PM2_HOME: never acted on', () => {
    const r = judgeDaemon(false, 5, [god(9), god(10)], true, 3, 2000);
    assert.equal(r.kind, 'several');
    assert.match((r as { why: string }).why, /pids 9, 10/);
  });
});

describe('planResurrect', () => {
  test('never refuses and says how to do it by hand; auto needs a usable dump', () => {
    const never = planResurrect('never', true, '');
    assert.equal(never.act, false);
    assert.match((never as { why: string }).why, /supervisor\.resurrect is never/);
    const noDump = planResurrect('auto', false, 'dump.pm2 is not usable: it lists no app');
    assert.equal(noDump.act, false);
    assert.match((noDump as { why: string }).why, /no usable dump .*it lists no app.*pm2 save/);
    assert.deepEqual(planResurrect('auto', true, ''), { act: true });
  });
});
