// The process table from the bus, against a real daemon: the engine lists PM2 only to load and to
// reconcile (not once per check), a crash is still acted on at once, and an event the bus never
// delivered is corrected by the reconcile before it can cause a remedy.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Observation } from '../../src/engine/decide.js';
import type { Pm2Port } from '../../src/pm2/adapter.js';
import { startTestMonitor, type TestMonitor } from '../helpers/monitor.js';
import { createSandbox, healthUrl, exampleApp, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';

const PORT_A = 47900;
const PORT_B = 47901;
const T = { timeout: 120_000 };

let sb: Sandbox;
const monitors: TestMonitor[] = [];

before(async () => {
  sb = await createSandbox('table');
  await sb.start(exampleApp('tb-a', PORT_A));
  await sb.start(exampleApp('tb-b', PORT_B));
  await waitFor('both apps healthy', async () => (await httpStatus(healthUrl(PORT_A))) === 200 && (await httpStatus(healthUrl(PORT_B))) === 200, 30_000);
});
after(async () => {
  for (const m of monitors) await m.stop();
  await sb.teardown();
});

/** The sandbox's port, counting full lists, and dropping the bus events `drop` says to. */
function spyPort(drop: (name: string) => boolean = () => false): Pm2Port & { lists: number } {
  const inner = sb.pm2;
  const port = {
    lists: 0,
    list: () => {
      port.lists++;
      return inner.list();
    },
    describe: (id: number) => inner.describe(id),
    act: inner.act.bind(inner),
    start: inner.start.bind(inner),
    daemonPid: () => inner.daemonPid(),
    onProcessEvent: (l: Parameters<Pm2Port['onProcessEvent']>[0]) => inner.onProcessEvent((e) => {
      if (!drop(e.name)) l(e);
    }),
    onBusSignal: (l: Parameters<Pm2Port['onBusSignal']>[0]) => inner.onBusSignal(l),
    close: () => Promise.resolve(),
  };
  return port;
}

const app = (name: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name, health: { url: healthUrl(port), interval: '200ms', timeout: '500ms', failure_threshold: 2 }, startup_grace: 0, ports: [port], ...extra,
});

test('checks every 200 ms read the table: PM2 is listed at the start and at each reconcile, not per check', T, async () => {
  const port = spyPort();
  const observed = new Map<string, number>();
  const ats: number[] = [];
  // Start off the beat (120 ms past a multiple of 200 ms): checks that merely followed the first
  // one at 200 ms steps would stay off it.
  while (Math.abs((performance.now() % 200) - 120) > 5) await new Promise((r) => setTimeout(r, 1));
  const m = startTestMonitor(sb, { reconcile_interval: '2s', apps: [app('tb-a', PORT_A), app('tb-b', PORT_B)] }, {
    pm2: port,
    onObservation: (name, obs) => {
      const n = (observed.get(name) ?? 0) + 1;
      observed.set(name, n);
      if (n > 1) ats.push(obs.at); // the first check runs at once; the rest on the beat
    },
  });
  monitors.push(m);
  await new Promise((r) => setTimeout(r, 5000));
  await m.stop();
  const checks = (observed.get('tb-a') ?? 0) + (observed.get('tb-b') ?? 0);
  assert.ok(checks >= 30, `the apps were checked ${checks} times in 5 s`);
  // Start + one reconcile every 2 s (2 or 3 in 5 s); never one per check.
  assert.ok(port.lists >= 2 && port.lists <= 4, `PM2 was listed ${port.lists} times for ${checks} checks`);
  // Apps with one interval share a beat: their checks start on multiples of 200 ms of the
  // monotonic clock (an observation ends a probe's latency later), one wake-up for both.
  const onBeat = ats.filter((at) => at % 200 < 80).length;
  assert.ok(onBeat >= 0.8 * ats.length, `${onBeat} of ${ats.length} checks on the 200 ms beat: ${ats.slice(0, 12).map((a) => Math.round(a % 200)).join(',')}`);
  assert.equal(m.engine.table.refreshes.get('start'), 1);
  assert.ok((m.engine.table.refreshes.get('reconcile') ?? 0) >= 1);
});

test('a crash is acted on at once, between checks, from the bus event', T, async () => {
  const crashes: { at: number; obs: Observation }[] = [];
  // A 30 s interval: a periodic check cannot explain a reaction within a few seconds.
  const m = startTestMonitor(sb, { apps: [app('tb-a', PORT_A, { health: { url: healthUrl(PORT_A), interval: '30s', timeout: '500ms', failure_threshold: 1 } })] }, {
    onObservation: (_name, obs) => {
      if (obs.crashes > 0) crashes.push({ at: performance.now(), obs });
    },
  });
  monitors.push(m);
  await waitFor('first check healthy', async () => m.engine.views()[0]?.state.phase === 'healthy', 10_000);
  const before = await sb.info('tb-a');
  assert.ok(before && before.pid > 0);
  const killedAt = performance.now();
  process.kill(before.pid, 'SIGKILL'); // our sandbox's app, by pid
  await waitFor('the crash observed', async () => crashes.length > 0, 10_000);
  const reaction = crashes[0]!.at - killedAt;
  assert.ok(reaction < 5000, `the crash was observed ${Math.round(reaction)} ms after the kill`);
  assert.ok((m.engine.table.refreshes.get('crash') ?? 0) >= 1, 'a crash lists PM2 afresh (new pid, squatter search)');
  await waitFor('healthy again', async () => (await httpStatus(healthUrl(PORT_A))) === 200, 30_000);
  await m.stop();
});

test('an event the bus never delivered is corrected by the reconcile, before it can cause a remedy', T, async () => {
  // All of tb-b's events are lost: the table keeps saying online after an operator's stop.
  const port = spyPort((name) => name === 'tb-b');
  const m = startTestMonitor(sb, {
    reconcile_interval: '1s',
    apps: [app('tb-b', PORT_B, { health: { url: healthUrl(PORT_B), interval: '200ms', timeout: '300ms', failure_threshold: 15 } })],
  }, { pm2: port });
  monitors.push(m);
  await waitFor('first check healthy', async () => m.engine.views()[0]?.state.phase === 'healthy', 10_000);
  sb.pm2Cli(['stop', 'tb-b']);
  // Without the reconcile the refused probes would reach the threshold in 3 s and remedy.
  await waitFor(() => `phase stopped (now ${m.engine.views()[0]?.state.phase}: ${m.engine.views()[0]?.state.lastReason})`, async () => m.engine.views()[0]?.state.phase === 'stopped', 10_000);
  assert.equal(m.remedies.length, 0, 'no remedy for an app an operator stopped');
  assert.ok((m.engine.table.refreshes.get('reconcile') ?? 0) >= 1);
  await m.stop();
  sb.pm2Cli(['restart', 'tb-b']);
  await waitFor('tb-b back', async () => (await httpStatus(healthUrl(PORT_B))) === 200, 30_000);
});
