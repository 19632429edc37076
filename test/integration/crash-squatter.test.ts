// Issue 12, against a real PM2 daemon.
// A. A crash (kill -9), then a stranger binds the app's port while PM2's first restart is still
//    starting: the monitor finds it through the port watch and frees the port before PM2's next
//    try (no EADDRINUSE at all), and the remedy's reason names the squatter, not a hang.
// B. A remedy of a hung app is PM2's own restart when only the app holds its ports: PM2's
//    `restarts` goes up by one per remedy, and PM2's unstable-restart count is reset.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestMonitor } from '../helpers/monitor.js';
import { holdersOf } from '../helpers/holders.js';
import { armSquatter, endSquatter, type ArmedSquatter } from '../helpers/late-squatter.js';
import { ROOT, createSandbox, healthUrl, exampleApp, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';

const SLOW = join(ROOT, 'test', 'fixtures', 'slow-listen.cjs');
const PORT_SLOW = 47960;
const PORT_HANG = 47961;
const LISTEN_DELAY_MS = 1500;
const T = { timeout: 120_000 };

let sb: Sandbox;
const squatters: ArmedSquatter[] = [];

before(async () => {
  sb = await createSandbox('crash-squatter');
});
after(async () => {
  for (const s of squatters) endSquatter(s);
  await sb.teardown();
});

/** The pid that answered /health, or 0. */
async function healthPid(port: number): Promise<number> {
  try {
    const res = await fetch(healthUrl(port), { signal: AbortSignal.timeout(1000) });
    return res.status === 200 ? (((await res.json()) as { pid?: number }).pid ?? 0) : 0;
  } catch {
    return 0;
  }
}

const countIn = (file: string, needle: string): number => {
  try {
    return readFileSync(file, 'utf8').split(needle).length - 1;
  } catch {
    return 0;
  }
};

test('a stranger that binds the port during PM2\'s first restart is freed before PM2 tries again: no EADDRINUSE, a squatter reason, not a hang', T, async (t) => {
  const name = 'cs-slow';
  const errLog = join(sb.home, 'logs', `${name}-error.log`);
  await sb.start({ name, script: SLOW, cwd: dirname(SLOW), env: { PORT: String(PORT_SLOW), LISTEN_DELAY_MS: String(LISTEN_DELAY_MS) }, error_file: errLog, autorestart: true });
  const first = await waitFor('the app healthy', async () => ((await healthPid(PORT_SLOW)) > 0 ? sb.info(name) : undefined), 20_000);
  const monitor = startTestMonitor(sb, {
    apps: [{ name, health: { url: healthUrl(PORT_SLOW), interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: '5s', ports: [PORT_SLOW] }],
  });
  try {
    await waitFor('monitor sees healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy', 20_000);
    // The stranger: same user, in the app's directory (kill_scope app judges it by the cwd rule),
    // no PM2 marks, not a descendant of the app. Armed now, told to bind after the crash.
    const squatter = await armSquatter(PORT_SLOW, dirname(SLOW), sb.env);
    squatters.push(squatter);
    const errsBefore = countIn(errLog, 'EADDRINUSE');

    process.kill(first.pid, 'SIGKILL'); // the sandbox's own app, by pid
    // After the check the crash triggers has looked (it takes tens of ms), well inside PM2's
    // first restart (the new instance listens only after 1.5 s).
    await new Promise((r) => setTimeout(r, 200));
    const boundAt = performance.now();
    squatter.fire();
    assert.equal(await squatter.outcome, 'listening', 'the stranger took the port (else there is nothing to test)');

    const report = await waitFor('the remedy report', () => monitor.remedies[0], 20_000, 5);
    const startedAfterBind = performance.now() - report.totalMs - boundAt;
    const now = await waitFor('a new, healthy instance', async () => {
      const info = await sb.info(name);
      return info && info.status === 'online' && info.pid !== first.pid && (await healthPid(PORT_SLOW)) === info.pid ? info : undefined;
    }, 20_000);
    const eaddrinuse = countIn(errLog, 'EADDRINUSE') - errsBefore;
    const restarts = now.restarts - first.restarts;
    t.diagnostic(`remedy started ~${Math.round(startedAfterBind)} ms after the bind; ${report.steps.map((s) => `${s.step} ${Math.round(s.ms)}ms`).join(', ')}; PM2 restarts +${restarts}; EADDRINUSE ${eaddrinuse}`);

    assert.ok(report.ok, `the remedy succeeded: ${report.failure ?? ''}`);
    assert.match(report.reason, new RegExp(`^port ${PORT_SLOW} held by pid ${squatter.pid} \\(.*\\), not the app: a squatter$`));
    const starting = monitor.lines.find((l) => /starting remedy/.test(l));
    assert.match(starting ?? '', /"hung":false/, `not a hang: ${starting}`);
    // The port watch saw it within a few polls; waiting for the restarted instance to die of
    // EADDRINUSE would have taken until its listen (1.5 s).
    assert.ok(startedAfterBind < 1000, `the remedy started ${Math.round(startedAfterBind)} ms after the squatter bound`);
    assert.equal(eaddrinuse, 0, 'PM2 never restarted the app into the squatted port');
    assert.equal(restarts, 1, 'PM2 restarted the crashed app once; the remedy (stop, free, start) is not a PM2 restart');

    // With a stray, the ports are freed before the start.
    const steps = report.steps.map((s) => s.step);
    assert.deepEqual(steps.slice(0, 5), ['look up the app in PM2', `survey ports ${PORT_SLOW}`, 'stop through PM2', `free ports ${PORT_SLOW}`, 'start through PM2']);
    assert.match(report.steps[1]!.detail, /other than the app/);
    assert.deepEqual(report.ports?.killed.map((k) => k.pid), [squatter.pid], 'the squatter was killed');
    assert.deepEqual(holdersOf(PORT_SLOW).map((h) => h.pid), [now.pid], 'only the new instance holds the port');
    assert.equal(monitor.remedies.length, 1, 'one remedy');
  } finally {
    await monitor.stop();
    sb.pm2Cli(['delete', name]);
  }
});

test('remedies of a hung app are PM2 restarts: restarts goes up by one per remedy', T, async (t) => {
  const name = 'cs-hang';
  await sb.start(exampleApp(name, PORT_HANG));
  await waitFor('the app healthy', async () => (await httpStatus(healthUrl(PORT_HANG))) === 200, 20_000);
  const monitor = startTestMonitor(sb, {
    apps: [{ name, health: { url: healthUrl(PORT_HANG), interval: '500ms', timeout: '300ms', failure_threshold: 2 }, startup_grace: 0, ports: [PORT_HANG] }],
  });
  try {
    const initial = await sb.info(name);
    assert.ok(initial);
    for (let k = 1; k <= 2; k++) {
      await waitFor('monitor sees healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy', 20_000);
      const before = await sb.info(name);
      assert.ok(before && before.status === 'online');
      process.kill(before.pid, 'SIGSTOP'); // the sandbox's own app, by pid
      const report = await waitFor(`remedy ${k}`, () => monitor.remedies[k - 1], 20_000, 10);
      const after = await waitFor('the new instance online', async () => {
        const info = await sb.info(name);
        return info && info.status === 'online' && info.pid !== before.pid ? info : undefined;
      }, 10_000);
      const restart = report.steps.find((s) => s.step === 'restart through PM2');
      t.diagnostic(`remedy ${k}: ${report.steps.map((s) => `${s.step} ${Math.round(s.ms)}ms (${s.detail})`).join(', ')}; restarts ${before.restarts} -> ${after.restarts}`);
      assert.ok(report.ok, `remedy ${k} succeeded: ${report.failure ?? ''}`);
      assert.match(report.reason, /timeout/);
      assert.equal(after.restarts, before.restarts + 1, `PM2 counted remedy ${k}`);
      assert.equal(after.unstableRestarts, 0, 'pm2 restart resets the unstable-restart count');
      assert.ok(restart?.ok, `PM2's own restart: ${JSON.stringify(report.steps)}`);
      assert.match(restart.detail, /hung: killed at once/);
      // PM2 alone waits kill_timeout (1.6 s) before its SIGKILL of a frozen process.
      assert.ok(restart.ms < 1500, `the frozen instance was killed at once (${Math.round(restart.ms)} ms)`);
      assert.match(report.steps.find((s) => s.step === `survey ports ${PORT_HANG}`)?.detail ?? '', /only the app/);
      assert.ok(!report.steps.some((s) => s.step === 'stop through PM2'), 'no separate stop and start');
    }
    const shown = sb.pm2Cli(['show', name]);
    const count = /restarts\s*│\s*(\d+)/.exec(shown)?.[1];
    assert.equal(Number(count), initial.restarts + 2, `pm2 show: ${shown.split('\n').find((l) => /restarts/.test(l))}`);
  } finally {
    await monitor.stop();
    sb.pm2Cli(['delete', name]);
  }
});
