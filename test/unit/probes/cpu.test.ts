/** The cpu rule's tracker as sequences on injected time and samples, and one real busy process. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { CpuTracker, USER_HZ, cpuSamples, type CpuSample } from '../../../src/probes/cpu.js';

/** Samples of one process that used `percent` of a core for `ms` since the previous sample. */
function run(): { next: (ms: number, percent: number) => CpuSample[]; now: () => number } {
  let t = 0;
  let ticks = 1000;
  return {
    next: (ms, percent) => {
      t += ms;
      ticks += Math.round((percent / 100) * (ms / 1000) * USER_HZ);
      return [{ pid: 42, startTicks: 7, cpuTicks: ticks }];
    },
    now: () => t,
  };
}

test('the first sample is a baseline; 3 checks above in a row fail; a dip resets the count', () => {
  const tr = new CpuTracker(90, 3);
  const p = run();
  assert.deepEqual(tr.observe(p.now(), p.next(0, 0)), { ok: true, percent: undefined, above: 0 });
  const seq = [95, 99, 50, 95, 95, 100].map((pc) => {
    const s = p.next(1000, pc);
    return tr.observe(p.now(), s);
  });
  assert.deepEqual(seq.map((o) => o.ok), [true, true, true, true, true, false]);
  assert.deepEqual(seq.map((o) => o.above), [1, 2, 0, 1, 2, 3]);
  const last = seq.at(-1)!;
  assert.ok(!last.ok);
  assert.match(last.detail, /^cpu 100% of a core above 90% for 3 checks in a row$/);
});

test('a 2-check spike does not fail; percent follows elapsed time, not the check count', () => {
  const tr = new CpuTracker(90, 3);
  const p = run();
  tr.observe(p.now(), p.next(0, 0));
  const outs = [100, 100, 10, 10].map((pc) => {
    const s = p.next(500, pc);
    return tr.observe(p.now(), s);
  });
  assert.ok(outs.every((o) => o.ok));
  assert.equal(Math.round(outs[0]!.percent!), 100);
});

test('a reused pid (another start time) or a new process brings no CPU time from before', () => {
  const tr = new CpuTracker(50, 1);
  tr.observe(0, [{ pid: 42, startTicks: 7, cpuTicks: 100 }]);
  const reused = tr.observe(1000, [{ pid: 42, startTicks: 9, cpuTicks: 100_000 }, { pid: 43, startTicks: 10, cpuTicks: 50_000 }]);
  assert.equal(reused.percent, 0);
  assert.ok(reused.ok);
});

test('reset takes a new baseline and forgets the count', () => {
  const tr = new CpuTracker(90, 2);
  const p = run();
  tr.observe(p.now(), p.next(0, 0));
  const step = (): ReturnType<CpuTracker['observe']> => {
    const s = p.next(1000, 100);
    return tr.observe(p.now(), s);
  };
  assert.equal(step().above, 1);
  tr.reset();
  assert.equal(step().percent, undefined);
  assert.equal(step().above, 1);
});

test('a real spinning process reads near 100% of a core from /proc; its idle parent with children', async () => {
  const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 4000; while (Date.now() < end) {}'], { stdio: 'ignore' });
  try {
    const pid = child.pid!;
    const tr = new CpuTracker(50, 1);
    tr.observe(performance.now(), cpuSamples([pid], false));
    await new Promise((r) => setTimeout(r, 1000));
    const o = tr.observe(performance.now(), cpuSamples([pid], false));
    assert.ok(o.percent !== undefined && o.percent > 25 && o.percent < 150, `a spinning process: ${o.percent}%`);
    // Our own process with children included sees the child's ticks too.
    const mine = new CpuTracker(50, 1);
    mine.observe(performance.now(), cpuSamples([process.pid], true));
    await new Promise((r) => setTimeout(r, 1000));
    const withKids = mine.observe(performance.now(), cpuSamples([process.pid], true));
    assert.ok(withKids.percent !== undefined && withKids.percent > 25, `parent + spinning child: ${withKids.percent}%`);
  } finally {
    child.kill('SIGKILL');
  }
});
