// `pause`, `resume` and `reset` are logged by the monitor that applies them, one line each, with
// who asked (account, uid, the command's pid): a running `run` tells a pause with its end, the
// pause running out, a reset, and a resume; re-reads of control.json (every change rewrites the
// whole file) and a restart do not repeat them. A `check` tells a change it has not seen once.
// A remedy that an operator's reset let go (its circuit was open) names the operator as its trigger.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';
import { configIn, freshDir, sandboxCliEnv } from '../helpers/operator.js';
import { CLI, createSandbox, exampleApp, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';

const PORT = 47350;
const TRIG_PORT = 47351;
const NOBODY = 'http://127.0.0.1:47352/health'; // nothing listens
const HEALTH = `http://127.0.0.1:${PORT}/health`;
const APP = 'ctl-log';
const T = { timeout: 120_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let config: string;
let stateDir: string;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('control-log');
  env = sandboxCliEnv(sb);
  await sb.start(exampleApp(APP, PORT));
  await waitFor('app healthy', async () => (await httpStatus(HEALTH)) === 200);
  stateDir = freshDir(sb.home, 'state');
  config = configIn(sb.home, {
    state_dir: stateDir,
    apps: [{ name: APP, health: { url: HEALTH, interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: 0 }],
  });
});
after(async () => {
  ledger.killAll();
  await sb?.teardown();
});

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** `<user> (uid N, pid P)` of a command this test ran as itself. */
const who = (pid: number): string => `${esc(userInfo().username)} \\(uid ${process.getuid!()}, pid ${pid}\\)`;
const line = (message: string): RegExp => new RegExp(`\\[${esc(APP)}\\] ${message}`);

/** Run an operator command to completion; its pid is what the log must name. */
function operator(args: readonly string[]): number {
  const r = spawnSync(process.execPath, [CLI, ...args, '--config', config], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.pid;
}

const count = (lines: readonly string[], re: RegExp): number => lines.filter((l) => re.test(l)).length;

async function stop(run: RunningCli): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  await run.exited;
}

test('a running monitor logs a pause (with its end), its expiry, a reset and a resume, each once, with who asked', T, async () => {
  const run = startCli(['run', '--config', config], env, ledger);
  try {
    await run.waitForLine(line('unknown -> healthy'), 20_000);

    const pausePid = operator(['pause', APP, '--for', '4s']);
    const paused = await run.waitForLine(line(`paused by ${who(pausePid)} until \\d\\d:\\d\\d:\\d\\dZ: no remedies until then`), 10_000);

    // A reset rewrites control.json (the pause still in it): the reset is told, the pause is not again.
    const resetPid = operator(['reset', APP]);
    await run.waitForLine(line(`reset by ${who(resetPid)}: `), 10_000, paused.index);

    await run.waitForLine(line('pause ended: it expired at \\d\\d:\\d\\d:\\d\\dZ; remedies allowed again'), 15_000, paused.index);

    const againPid = operator(['pause', APP]);
    const again = await run.waitForLine(line(`paused by ${who(againPid)} with no end`), 10_000, paused.index + 1);
    const resumePid = operator(['resume', APP]);
    const resumed = await run.waitForLine(line(`pause ended: resumed by ${who(resumePid)}; remedies allowed again`), 10_000, again.index);

    // Two more checks after the resume: nothing about the control is told again.
    await run.waitForLine(line('.*'), 5000, resumed.index + 1).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2500));
    const lines = run.stderrLines;
    assert.equal(count(lines, line('paused by ')), 2, lines.join('\n'));
    assert.equal(count(lines, line('reset by ')), 1, lines.join('\n'));
    assert.equal(count(lines, line('pause ended: it expired')), 1, lines.join('\n'));
    assert.equal(count(lines, line('pause ended: resumed')), 1, lines.join('\n'));
    for (const l of lines.filter((x) => /\] (paused|pause ended|reset) /.test(x))) assert.match(l, /^\S+Z (warn |info ) /, l);
    if (process.env['HDM_SHOW_LOG']) process.stdout.write(`# ${lines.join('\n# ')}\n`);
  } finally {
    await stop(run);
  }

  // A restart with a pause in force: said as restored state, not told as news.
  const pausePid = operator(['pause', APP]);
  const second = startCli(['run', '--config', config], env, ledger);
  try {
    // This run had not seen the pause (the first one stopped before it): it tells it once.
    await second.waitForLine(line(`paused by ${who(pausePid)} with no end`), 20_000);
    await second.waitForLine(/watching 1 app/, 20_000);
  } finally {
    await stop(second);
  }
  const third = startCli(['run', '--config', config], env, ledger);
  try {
    await third.waitForLine(line('restored state: remedies paused'), 20_000);
    await new Promise((r) => setTimeout(r, 2500)); // a few checks
    assert.equal(count(third.stderrLines, line('paused by ')), 0, `the last run told this pause already:\n${third.stderrLines.join('\n')}`);
  } finally {
    await stop(third);
  }
});

test('`check` tells a control change it has not seen once; the next check does not repeat it', T, async () => {
  const checkLog = (): string => {
    const r = spawnSync(process.execPath, [CLI, 'check', '--config', config], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stderr;
  };
  checkLog(); // whatever the previous test left is told now
  const changePid = operator(['pause', APP, '--for', '10m']);
  const one = checkLog();
  assert.equal(count(one.split('\n'), line(`pause changed by ${who(changePid)} until `)), 1, one);
  const two = checkLog();
  assert.equal(count(two.split('\n'), line('pause')), 0, two);

  const resumePid = operator(['resume', APP]);
  const three = checkLog();
  assert.equal(count(three.split('\n'), line(`pause ended: resumed by ${who(resumePid)}`)), 1, three);
  const four = checkLog();
  assert.equal(count(four.split('\n'), line('pause')), 0, four);
});

test('control.json holds who asked, beside what they asked for', T, () => {
  const pid = operator(['reset', APP]);
  const doc = JSON.parse(readFileSync(join(stateDir, 'control.json'), 'utf8')) as { apps: Record<string, Record<string, unknown>> };
  const entry = doc.apps[APP]!;
  assert.deepEqual(entry['reset_by'], { user: userInfo().username, uid: process.getuid!(), pid, via: 'cli' });
  assert.ok(entry['resumed_by'], 'the last resume is kept');
  assert.equal(entry['paused_by'], undefined, 'no pause, no pauser');
});

test('a remedy let go by a reset names the operator as its trigger', T, async () => {
  const app = 'ctl-trig';
  await sb.start(exampleApp(app, TRIG_PORT));
  const dir = freshDir(sb.home, 'state');
  const cfg = configIn(sb.home, {
    state_dir: dir,
    apps: [{
      name: app, health: { url: NOBODY, interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: 0,
      verify_timeout: '2s', circuit_reset_time: '30m', max_restart_failures: 3,
    }],
  });
  // The circuit opened by an earlier run: no remedy until a reset.
  const iso = (ms: number): string => new Date(ms).toISOString();
  const since = Date.now() - 60_000;
  writeFileSync(join(dir, 'state.json'), JSON.stringify({
    version: 1, written_at: iso(Date.now()), pid: 1,
    apps: { [app]: { phase: 'unhealthy', consecutive_failures: 3, failed_remedies: 3, circuit: 'open', circuit_since: iso(since), recent_failures: [iso(since - 2000), iso(since - 1000), iso(since)] } },
  }));
  const r = spawnSync(process.execPath, [CLI, 'reset', app, '--config', cfg], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const check = spawnSync(process.execPath, [CLI, 'check', '--config', cfg], { env, encoding: 'utf8', timeout: 90_000 });
  const lines = check.stderr.split('\n');
  const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
  const reset = at(new RegExp(`\\[${app}\\] reset by ${who(r.pid)}: `));
  const remedy = at(new RegExp(`\\[${app}\\] unhealthy: .*; starting remedy \\(trigger: reset by ${who(r.pid)}, then probe failures 2/2 \\(health\\)\\) .*trigger=operator`));
  assert.ok(reset >= 0 && remedy > reset, check.stderr);
});
