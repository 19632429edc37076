// The command hooks of the restart policy against real PM2 apps: an exec probe
// (health_check_command) that hangs is killed at health_check_timeout with its whole tree
// (children, and a child that left for its own session), and the app counts as failing and is
// remedied after failure_threshold; a pre_restart_command that fails (exit 3) or times out blocks
// the restart: the hung app keeps its pid, PM2 never restarts it, the log says "remedy skipped"
// with the reason and a remedy_skipped webhook goes out; one that passes (`true`) lets the restart
// happen; `%s` in health_check_command stands for the app name.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createSandbox, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startTestMonitor } from '../helpers/monitor.js';
import { startCli } from '../helpers/cli.js';
import { PidLedger, identify, isAlive, type ProcIdentity, thaw } from '../helpers/holders.js';
import { configIn, freshDir, healthPid, pidsWithCommandLine, sandboxCliEnv, startHealthy as startHealthyApp } from '../helpers/operator.js';
import { lineRe, pm2Starts, quietFor } from '../helpers/flap.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import type { ProcessInfo } from '../../src/pm2/adapter.js';

const RECEIVER_PORT = 47780;
const EXEC_PORT = 47781;
const PRE_FAIL_PORT = 47782;
const PRE_SLOW_PORT = 47783;
const PRE_OK_PORT = 47784;
const PCT_PORT = 47785;
// Unique markers: the exec probe's tree and the slow pre_restart_command. Our pid (fixed width, so
// no marker is a prefix of another run's) keeps them apart from a run of this file elsewhere on
// the machine, whose processes we must neither count nor end.
const RUN = String(process.pid).padStart(7, '0');
const MARK_BG = `sleep 3047787${RUN}`;
const MARK_SID = `sleep 3047788${RUN}`;
const MARK_FG = `sleep 3047789${RUN}`;
const MARK_PRE = `sleep 3047786${RUN}`;
const MARK_ORPHAN = `sleep 3047790${RUN}`;
const T = { timeout: 120_000 };

let sb: Sandbox;
let receiver: Receiver;
const ledger = new PidLedger();
const frozen: number[] = [];

before(async () => {
  sb = await createSandbox('commands');
  receiver = await startReceiver(RECEIVER_PORT);
});
after(async () => {
  thaw(frozen);
  // Anything a marker names is ours (a probe that escaped would be a failure, reported above).
  for (const m of [MARK_BG, MARK_ORPHAN, MARK_SID, MARK_FG, MARK_PRE]) for (const pid of pidsWithCommandLine(m)) ledger.add(pid);
  ledger.killAll();
  await receiver?.close();
  await sb?.teardown();
});

const startHealthy = (name: string, port: number): Promise<ProcessInfo> => startHealthyApp(sb, name, port);

/** Live processes whose command line contains one of the markers: pid -> command line. */
function markerProcesses(markers: readonly string[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (markers.some((m) => cmd.includes(m))) out.set(Number(entry), cmd);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Watch for processes with the markers, each known by identity (pid + start time) with its latest
 * command line (a forked shell becomes `sleep ...` after exec) and when it was first and last seen.
 */
function watchMarkers(markers: readonly string[], everyMs = 20) {
  const seen = new Map<string, { id: ProcIdentity; command: string; first: number; last: number }>();
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    const now = Date.now();
    for (const [pid, command] of markerProcesses(markers)) {
      const id = identify(pid);
      if (!id) continue;
      const key = `${id.pid}:${id.startTicks}`;
      const known = seen.get(key);
      if (known) {
        known.last = now;
        known.command = command;
      } else seen.set(key, { id, command, first: now, last: now });
    }
    setTimeout(tick, everyMs);
  };
  tick();
  return {
    seen,
    /** How many processes ended up as exactly this command. */
    count: (command: string) => [...seen.values()].filter((s) => s.command === command).length,
    alive: () => [...seen.values()].filter((s) => isAlive(s.id)),
    stop: () => {
      stopped = true;
    },
  };
}

/** The /proc state letter of a pid ('T' when stopped), or '' when gone. */
function procState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '';
  } catch {
    return '';
  }
}

test('a hanging health_check_command is killed at its timeout with its whole tree; the app counts as failing and is remedied after the threshold', T, async (t) => {
  const app = 'cmd-exec';
  await startHealthy(app, EXEC_PORT);
  // A background child, an orphan (double fork: reparented, still in the process group), a child
  // in its own session (setsid: out of the group, still a descendant), and a foreground child:
  // none may outlive the 1 s timeout.
  const command = `sh -c '(${MARK_ORPHAN} &); setsid ${MARK_SID} & ${MARK_BG} & ${MARK_FG}'`;
  const ALL = [MARK_BG, MARK_ORPHAN, MARK_SID, MARK_FG];
  const markers = watchMarkers(ALL);
  const monitor = startTestMonitor(sb, {
    apps: [{
      name: app, ports: [EXEC_PORT], startup_grace: 0,
      health: { url: `http://127.0.0.1:${EXEC_PORT}/health`, interval: '2s', timeout: '1s', failure_threshold: 2 },
      health_check_command: command, health_check_timeout: '1s',
      verify_timeout: '3s', restart_delay: '1s', max_restart_failures: 1, circuit_reset_time: '10m',
    }],
  });
  try {
    const report = await waitFor('the remedy', () => monitor.remedies[0], 30_000);
    assert.match(report.reason, /health_check_command timeout: no exit within 1000 ms, process tree killed \(2\/2\)/, `remedied after 2 failed checks: ${report.reason}`);
    assert.equal(report.ok, false, 'the restarted app still fails the command, so the remedy cannot be verified');
    assert.ok(monitor.lines.some((l) => /-> failing: health_check_command timeout: .*\(1\/2\)/.test(l)), `the first failure was counted:\n${monitor.lines.join('\n')}`);
    // A few more checks after the remedy (the circuit is open: probed, not restarted).
    const atRemedy = markers.count(MARK_SID);
    await waitFor('two more probe runs', () => markers.count(MARK_SID) >= atRemedy + 2, 20_000, 100);
  } finally {
    await monitor.stop(); // waits for a check in progress: its probe kills its tree before resolving
    await quietFor(300); // a last scan of /proc
    markers.stop();
  }
  const all = [...markers.seen.values()];
  for (const m of ALL) assert.ok(markers.count(m) >= 4, `each probe run started "${m}" (${markers.count(m)} seen)`);
  assert.deepEqual(markers.alive().map((s) => `${s.id.pid} ${s.command}`), [], 'nothing with the markers is alive');
  assert.deepEqual([...markerProcesses(ALL).entries()], [], 'not even a process we did not see start');
  const longest = Math.max(...all.map((s) => s.last - s.first));
  t.diagnostic(`${all.length} marker processes seen; the longest lived about ${longest} ms`);
  // 1 s timeout + the kill + our 20 ms scans, with room for a loaded machine.
  assert.ok(longest < 3000, `every one died at the timeout (longest ${longest} ms)`);
});

test('a failing or timed-out pre_restart_command blocks the restart (reported, remedy_skipped); a passing one lets it happen', T, async (t) => {
  const apps = {
    fail: { name: 'cmd-pre-fail', port: PRE_FAIL_PORT, pre: { pre_restart_command: 'echo "not today" >&2; exit 3' } },
    slow: { name: 'cmd-pre-slow', port: PRE_SLOW_PORT, pre: { pre_restart_command: MARK_PRE, pre_restart_timeout: '1s' } },
    ok: { name: 'cmd-pre-ok', port: PRE_OK_PORT, pre: { pre_restart_command: 'true' } },
  };
  const first: Record<string, ProcessInfo> = {};
  for (const a of Object.values(apps)) first[a.name] = await startHealthy(a.name, a.port);
  const stateDir = freshDir(sb.home, 'state');
  const hookPath = '/cmd/s3cret-cmd-hook';
  const config = configIn(sb.home, {
    state_dir: stateDir,
    notify: [{ url: receiver.url(hookPath), format: 'json', timeout: '5s' }],
    apps: Object.values(apps).map((a) => ({
      name: a.name, ports: [a.port], startup_grace: 0,
      health: { url: `http://127.0.0.1:${a.port}/health`, interval: '1s', timeout: '500ms', failure_threshold: 2 },
      // One remedy per app within the test: the next would wait 10 s.
      restart_delay: '10s', backoff: { jitter: 0 },
      ...a.pre,
    })),
  });
  const run = startCli(['run', '--config', config], sandboxCliEnv(sb), ledger);
  try {
    for (const a of Object.values(apps)) await run.waitForLine(lineRe(a.name, 'unknown -> healthy'), 30_000);
    const starts = Object.fromEntries(Object.values(apps).map((a) => [a.name, pm2Starts(sb, a.name)]));
    for (const a of Object.values(apps)) {
      frozen.push(first[a.name]!.pid);
      process.kill(first[a.name]!.pid, 'SIGSTOP');
    }

    // exit 3: skipped, with the reason and the command's stderr.
    const failed = await run.waitForLine(lineRe(apps.fail.name, 'remedy skipped: pre_restart_command failed, restart skipped: exit code 3: not today'), 20_000);
    // Timed out: skipped, and the command is gone.
    const slow = await run.waitForLine(lineRe(apps.slow.name, 'remedy skipped: pre_restart_command failed, restart skipped: no exit within 1000 ms, process tree killed'), 20_000);
    assert.deepEqual(pidsWithCommandLine(MARK_PRE), [], 'the timed-out pre_restart_command was killed');
    // true: restarted and healthy again.
    const okNow = await waitFor('cmd-pre-ok replaced by a healthy instance', async () => {
      const info = await sb.info(apps.ok.name);
      return info && info.status === 'online' && info.pid !== first[apps.ok.name]!.pid && (await healthPid(apps.ok.port)) === info.pid ? info : undefined;
    }, 20_000);
    await run.waitForLine(lineRe(apps.ok.name, 'remedy succeeded'), 10_000);
    assert.equal(pm2Starts(sb, apps.ok.name), starts[apps.ok.name]! + 1, 'PM2 started the passing app once');
    t.diagnostic(`skipped: ${failed.line.slice(0, 160)}… / ${slow.line.slice(0, 120)}…; restarted ${apps.ok.name}: pid ${first[apps.ok.name]!.pid} -> ${okNow.pid}`);

    await quietFor(1500); // the skipped apps stay as they are
    for (const a of [apps.fail, apps.slow]) {
      const was = first[a.name]!;
      const now = await sb.info(a.name);
      assert.equal(now?.pid, was.pid, `${a.name}: same pid`);
      assert.equal(now?.restarts, was.restarts, `${a.name}: restart_time unchanged`);
      assert.equal(now?.startedAt, was.startedAt, `${a.name}: pm_uptime unchanged`);
      assert.equal(now?.status, 'online');
      assert.equal(pm2Starts(sb, a.name), starts[a.name], `${a.name}: PM2 did not start it`);
      assert.equal(procState(was.pid), 'T', `${a.name}: still frozen`);
      assert.equal(await httpStatus(`http://127.0.0.1:${a.port}/health`), 0, `${a.name}: still not answering`);
      const steps = run.stderrLines.filter((l) => lineRe(a.name, 'remedy skipped').test(l));
      assert.equal(steps.length, 1, `${a.name}: skipped once (restart_delay 10 s)`);
      assert.match(steps[0]!, /steps="pre_restart_command FAILED in \d+ms"/, 'the only step run was the command');
    }

    interface Hook { event: string; app: string; reason?: string; detail?: string }
    const hooks = (): Hook[] => receiver.received.filter((r) => r.path === hookPath).map((r) => r.body as Hook);
    await waitFor('remedy_skipped webhooks for both', () => hooks().filter((h) => h.event === 'remedy_skipped').length >= 2, 10_000);
    const skipFail = hooks().find((h) => h.event === 'remedy_skipped' && h.app === apps.fail.name);
    assert.match(skipFail?.detail ?? '', /pre_restart_command failed, restart skipped: exit code 3/);
    assert.match(skipFail?.reason ?? '', /health timeout/);
    const skipSlow = hooks().find((h) => h.event === 'remedy_skipped' && h.app === apps.slow.name);
    assert.match(skipSlow?.detail ?? '', /no exit within 1000 ms/);
    await waitFor('remedy_succeeded for the passing one', () => hooks().some((h) => h.event === 'remedy_succeeded' && h.app === apps.ok.name), 10_000);
    assert.ok(!hooks().some((h) => h.event === 'remedy_succeeded' && h.app !== apps.ok.name), 'no success claimed for the skipped ones');
  } finally {
    run.child.kill('SIGTERM');
    await run.exited;
  }
});

test('%s in health_check_command is the app name', T, async () => {
  const app = 'cmd-pct';
  await startHealthy(app, PCT_PORT);
  const probeWith = (command: string) =>
    startTestMonitor(sb, {
      apps: [{ name: app, startup_grace: 0, health: { interval: '300ms', failure_threshold: 100 }, health_check_command: command, health_check_timeout: '5s' }],
    });

  // Bare, double-quoted and single-quoted %s all read as the name.
  const right = probeWith(`test %s = ${app} && test "%s" = '${app}' && test '%s' = "${app}"`);
  try {
    const v = await waitFor('three checks that ran the command', () => {
      const view = right.engine.views()[0];
      return view && view.state.consecutiveSuccesses >= 3 ? view : undefined;
    }, 15_000);
    assert.equal(v.state.phase, 'healthy');
    assert.equal(v.lastObservation?.others?.[0]?.kind, 'exec');
    assert.equal(v.lastObservation?.others?.[0]?.ok, true, JSON.stringify(v.lastObservation?.others));
  } finally {
    await right.stop();
  }

  // The control: another name does not match, so the same shape of command fails.
  const wrong = probeWith(`test %s = not-${app}`);
  try {
    const v = await waitFor('a failed check', () => {
      const view = wrong.engine.views()[0];
      return view && view.state.consecutiveFailures >= 1 ? view : undefined;
    }, 15_000);
    assert.equal(v.lastObservation?.others?.[0]?.ok, false);
    assert.match(v.lastObservation?.others?.[0]?.detail ?? '', /health_check_command exit: exit code 1/);
    assert.equal(wrong.remedies.length, 0);
  } finally {
    await wrong.stop();
  }
});
