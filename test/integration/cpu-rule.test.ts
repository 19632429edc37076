// The cpu rule against a real PM2: a child of the app spinning (four threads, so well above 90%
// of a core even on a busy machine) is restarted after `for: 3` checks above 90%; a spike of two
// checks is not. CPU is read from /proc ticks, children included.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isLive, readStat } from '../../src/proc/read.js';
import { createSandbox, healthUrl, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { drive, startRulesApp } from '../helpers/rules-app.js';
import { startTestMonitor } from '../helpers/monitor.js';

const INTERVAL_MS = 1000;
let sb: Sandbox;

before(async () => {
  sb = await createSandbox('cpurule');
});
after(async () => {
  await sb.teardown();
});

/** Spawn the busy child through the app; the sandbox ends it by pid if it outlives the test. */
async function busy(port: number, ms: number): Promise<number> {
  const { pid } = (await drive(port, `/busy?ms=${ms}`)) as { pid: number };
  sb.track(pid);
  return pid;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const config = (name: string, port: number) => ({
  apps: [{ name, health: { url: healthUrl(port), interval: `${INTERVAL_MS}ms` }, startup_grace: 0, cpu: { above: '90%', for: 3, include_children: true } }],
});

test('a spike of 2 checks above 90% is not restarted (the test ends the spinning child right after the 2nd)', async () => {
  const port = 48811;
  const pid = await startRulesApp(sb, 'spiky', port);
  const percents: number[] = [];
  let child: number | undefined;
  let aboveSeen = 0;
  const monitor = startTestMonitor(sb, config('spiky', port), {
    // Called with each observation, before the policy judges it: the spike ends right after the
    // second check above the limit, whatever the machine's load made of the timing.
    onObservation: (_app, obs) => {
      const p = obs.others?.find((o) => o.kind === 'cpu')?.info?.['percent'];
      if (typeof p !== 'number') return;
      percents.push(p);
      if (child !== undefined && p > 90 && ++aboveSeen === 2) process.kill(child, 'SIGKILL');
    },
  });
  try {
    await waitFor('healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy', 15_000);
    child = await busy(port, 0);
    await waitFor('two checks above 90%', () => aboveSeen >= 2, 30_000);
    await sleep(INTERVAL_MS * 4);
    assert.equal(percents.filter((p) => p > 90).length, 2, `exactly 2 checks above 90%: ${percents.join(',')}`);
    assert.equal(monitor.remedies.length, 0, `no restart for a spike:\n${monitor.lines.join('\n')}`);
    assert.equal((await sb.info('spiky'))?.pid, pid, 'the same instance runs');
  } finally {
    await monitor.stop();
  }
});

test('a busy-looping child above 90% for 3 checks gets the app restarted (the child with it)', async () => {
  const port = 48812;
  const pid = await startRulesApp(sb, 'spinner', port);
  const monitor = startTestMonitor(sb, config('spinner', port));
  try {
    await waitFor('healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy', 15_000);
    const child = await busy(port, 0);
    const start = readStat(child);
    assert.ok(start, 'the busy child runs');
    await waitFor('one remedy', () => monitor.remedies.length === 1, 30_000);
    const r = monitor.remedies[0]!;
    assert.ok(r.ok, `the remedy verified health: ${r.failure}`);
    assert.match(r.reason, /cpu \d+% of a core above 90% for 3 checks in a row/);
    assert.notEqual((await sb.info('spinner'))?.pid, pid, 'a new instance runs');
    await waitFor('the busy child is gone with its app', () => !isLive({ pid: child, startTicks: start.startTicks }), 10_000);
    await sleep(INTERVAL_MS * 4);
    assert.equal(monitor.remedies.length, 1, 'the new instance is calm: one restart only');
  } finally {
    await monitor.stop();
  }
});
