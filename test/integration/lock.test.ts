// The single-instance lock (<state_dir>/monitor.lock) under real concurrency: many `check` and
// `run` processes at once, a holder killed with SIGKILL, and hand-written lock records for every
// judgement (a live local holder is never displaced for its age; a dead or reused pid and a silent
// remote holder are taken over; a remote holder with a fresh heartbeat is respected; pid 1 and a
// live process that is not the helpdesk-monitor of the record are taken over).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, startCli, type CliResult, type RunningCli } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';
import { configIn, freshDir, pidAlive, sandboxCliEnv, spawnIdle, startExampleHealthy, startTicksOf } from '../helpers/operator.js';

const PORT = 47660;
const APP = 'lk-app';
const T = { timeout: 150_000 };
const ANCIENT = '2003-03-03T03:03:03.000Z';

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('lock');
  env = sandboxCliEnv(sb);
  await startExampleHealthy(sb, APP, PORT);
});
after(async () => {
  ledger.killAll();
  await sb.teardown();
});

/** A config with its own state dir; returns the config path and the lock path. */
function setup(): { config: string; lock: string; stateDir: string } {
  const stateDir = freshDir(sb.home, 'state');
  const config = configIn(sb.home, {
    state_dir: stateDir,
    apps: [{ name: APP, health: { url: `http://127.0.0.1:${PORT}/health`, timeout: '1s', interval: '500ms' }, startup_grace: 0, ports: [PORT] }],
  });
  return { config, lock: join(stateDir, 'monitor.lock'), stateDir };
}

const show = (r: CliResult): string => `exit ${r.code} (${r.signal ?? 'no signal'})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

async function stopRun(run: RunningCli): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  run.child.kill('SIGTERM');
  return run.exited;
}

interface Record_ {
  pid: number;
  hostname: string;
  started_at: string;
  heartbeat_at: string;
  command: string;
  start_ticks?: number;
  cmdline?: string;
}

function writeLock(lock: string, rec: Record_): string {
  const text = `${JSON.stringify(rec)}\n`;
  writeFileSync(lock, text);
  return text;
}

test('while `run` holds the lock, 20 checks started together all exit 3', T, async () => {
  const { config, lock } = setup();
  const run = startCli(['run', '--config', config], env, ledger);
  try {
    await run.waitForLine(/watching 1 app/, 30_000);
    assert.ok(existsSync(lock), 'run wrote the lock file');
    const rec = JSON.parse(readFileSync(lock, 'utf8')) as Record_;
    assert.equal(rec.pid, run.child.pid, 'the lock names the run process');
    assert.equal(rec.hostname, hostname());

    const results = await Promise.all(Array.from({ length: 20 }, () => runCli(['check', '--config', config], env, 120_000)));
    results.forEach((r, i) => {
      assert.equal(r.code, 3, `check #${i}: ${show(r)}`);
      assert.match(r.stderr, new RegExp(`holds the lock: \`run\` \\(pid ${run.child.pid}\\) on `), `check #${i} names the holder by role`);
    });
    assert.equal(run.child.exitCode, null, 'run is still running');
    assert.equal((JSON.parse(readFileSync(lock, 'utf8')) as Record_).pid, run.child.pid, 'the lock is unchanged');

    // status sees the live holder too.
    const s = await runCli(['status', '--json', '--config', config], env, 60_000);
    const doc = JSON.parse(s.stdout) as { monitor: { pid: number; live: boolean } | null };
    assert.deepEqual({ pid: doc.monitor?.pid, live: doc.monitor?.live }, { pid: run.child.pid, live: true });
  } finally {
    const end = await stopRun(run);
    assert.equal(end.code, 0, `run exits 0 on SIGTERM (${JSON.stringify(end)})`);
  }
  assert.equal(existsSync(lock), false, 'the lock is removed on a clean stop');
});

test('8 `run`s started together: exactly one keeps running, the others exit 3; SIGTERM ends it with 0 and removes the lock', T, async () => {
  const { config, lock } = setup();
  const runs = Array.from({ length: 8 }, () => startCli(['run', '--config', config], env, ledger));
  try {
    const losers = await waitFor('7 of the 8 to exit', () => {
      const done = runs.filter((r) => r.child.exitCode !== null || r.child.signalCode !== null);
      return done.length >= 7 ? done : undefined;
    }, 120_000, 100);
    assert.equal(losers.length, 7, 'exactly 7 exited');
    const survivors = runs.filter((r) => !losers.includes(r));
    assert.equal(survivors.length, 1);
    const survivor = survivors[0]!;
    for (const l of losers) {
      const end = await l.exited;
      assert.equal(end.code, 3, `a loser exits 3:\n${l.stderrLines.join('\n')}`);
      assert.ok(l.stderrLines.some((x) => x.includes(`holds the lock: \`run\` (pid ${survivor.child.pid}) on `) || x.includes('lock file is being written')), `a loser names the holder:\n${l.stderrLines.join('\n')}`);
    }
    await survivor.waitForLine(/watching 1 app/, 30_000);
    // `run` installs its SIGTERM handler a little after this line (src/cli/run.ts); a SIGTERM sent
    // at once on a loaded machine met the default action. The first check comes after it.
    await survivor.waitForLine(/\] unknown -> healthy/, 30_000);
    assert.equal((JSON.parse(readFileSync(lock, 'utf8')) as Record_).pid, survivor.child.pid, 'the lock names the survivor');
    const end = await stopRun(survivor);
    assert.equal(end.code, 0, `the survivor exits 0 on SIGTERM (${JSON.stringify(end)})`);
    assert.equal(existsSync(lock), false, 'the lock file is gone');
  } finally {
    for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  }
});

test('a lock left by a SIGKILLed `run` is taken over by the next run, and then by a check', T, async () => {
  const { config, lock } = setup();
  const first = startCli(['run', '--config', config], env, ledger);
  await first.waitForLine(/watching 1 app/, 30_000);
  first.child.kill('SIGKILL');
  await first.exited;
  assert.ok(existsSync(lock), 'SIGKILL leaves the lock file behind');
  assert.equal((JSON.parse(readFileSync(lock, 'utf8')) as Record_).pid, first.child.pid);

  const second = startCli(['run', '--config', config], env, ledger);
  try {
    const took = await second.waitForLine(/took over a stale lock/, 30_000);
    assert.match(took.line, new RegExp(`holder pid ${first.child.pid} is no longer running`));
    await second.waitForLine(/watching 1 app/, 30_000);
    assert.equal((JSON.parse(readFileSync(lock, 'utf8')) as Record_).pid, second.child.pid, 'the lock is the new run\'s');
  } finally {
    second.child.kill('SIGKILL');
    await second.exited;
  }
  assert.ok(existsSync(lock), 'left behind again');

  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stderr, new RegExp(`took over a stale lock: holder pid ${second.child.pid} is no longer running`));
  assert.equal(existsSync(lock), false, 'check released the lock it took');
});

test('8 `run`s racing for a stale lock: exactly one takes it over', T, async () => {
  const { config, lock } = setup();
  const gone = spawnIdle(ledger);
  gone.child.kill('SIGKILL');
  await gone.ended;
  writeLock(lock, { pid: gone.pid, hostname: hostname(), started_at: ANCIENT, heartbeat_at: ANCIENT, command: 'dead' });
  const runs = Array.from({ length: 8 }, () => startCli(['run', '--config', config], env, ledger));
  try {
    const losers = await waitFor('7 of the 8 to exit', () => {
      const done = runs.filter((r) => r.child.exitCode !== null || r.child.signalCode !== null);
      return done.length >= 7 ? done : undefined;
    }, 120_000, 100);
    const survivors = runs.filter((r) => !losers.includes(r));
    assert.equal(survivors.length, 1, `one survivor (${losers.length} exited)`);
    for (const l of losers) assert.equal((await l.exited).code, 3, `a loser exits 3:\n${l.stderrLines.join('\n')}`);
    const survivor = survivors[0]!;
    await survivor.waitForLine(/watching 1 app/, 30_000);
    // `run` installs its SIGTERM handler a little after this line (src/cli/run.ts); a SIGTERM sent
    // at once on a loaded machine met the default action. The first check comes after it.
    await survivor.waitForLine(/\] unknown -> healthy/, 30_000);
    assert.ok(survivor.stderrLines.some((l) => l.includes(`took over a stale lock: holder pid ${gone.pid} is no longer running`)), survivor.stderrLines.join('\n'));
    assert.equal(runs.filter((r) => r.stderrLines.some((l) => l.includes('took over a stale lock'))).length, 1, 'only one process took the stale lock over');
    assert.equal((JSON.parse(readFileSync(lock, 'utf8')) as Record_).pid, survivor.child.pid);
    assert.equal(existsSync(`${lock}.takeover`), false, 'no takeover guard left behind');
    assert.equal((await stopRun(survivor)).code, 0);
    assert.equal(existsSync(lock), false);
  } finally {
    for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  }
});

test('a live local holder keeps its lock however old its record is (with or without start_ticks)', T, async () => {
  const { config, lock } = setup();
  const idle = spawnIdle(ledger);
  const ticks = startTicksOf(idle.pid);
  const text = writeLock(lock, { pid: idle.pid, hostname: hostname(), started_at: ANCIENT, heartbeat_at: ANCIENT, command: 'helpdesk-monitor run (by hand)', start_ticks: ticks });
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 3, show(r));
  assert.match(r.stderr, new RegExp(`holds the lock: \`run\` \\(pid ${idle.pid}\\) on ${hostname()}`), 'an old record (no role) by the command it recorded');
  assert.equal(readFileSync(lock, 'utf8'), text, 'the lock file is untouched');

  const run = await runCli(['run', '--config', config], env, 60_000);
  assert.equal(run.code, 3, `run is kept out too: ${show(run)}`);

  const noTicks = writeLock(lock, { pid: idle.pid, hostname: hostname(), started_at: ANCIENT, heartbeat_at: ANCIENT, command: 'old format' });
  const r2 = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r2.code, 3, `without start_ticks: ${show(r2)}`);
  assert.equal(readFileSync(lock, 'utf8'), noTicks);
  assert.ok(pidAlive(idle.pid), 'the holder was not harmed');
});

test('a record whose pid is dead is taken over', T, async () => {
  const { config, lock } = setup();
  const gone = spawnIdle(ledger);
  const ticks = startTicksOf(gone.pid);
  gone.child.kill('SIGKILL');
  await gone.ended;
  assert.equal(pidAlive(gone.pid), false);
  writeLock(lock, { pid: gone.pid, hostname: hostname(), started_at: new Date().toISOString(), heartbeat_at: new Date().toISOString(), command: 'x', start_ticks: ticks });
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stderr, new RegExp(`took over a stale lock: holder pid ${gone.pid} is no longer running`));
  assert.equal(existsSync(lock), false);
});

test('a record with a live pid but other start_ticks (a reused pid) is taken over', T, async () => {
  const { config, lock } = setup();
  const idle = spawnIdle(ledger);
  const ticks = startTicksOf(idle.pid);
  writeLock(lock, { pid: idle.pid, hostname: hostname(), started_at: new Date().toISOString(), heartbeat_at: new Date().toISOString(), command: 'x', start_ticks: ticks - 1 });
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stderr, new RegExp(`took over a stale lock: pid ${idle.pid} now belongs to another process`));
  assert.ok(pidAlive(idle.pid), 'the process that now has the pid is left alone');
  assert.equal(existsSync(lock), false);
});

test('a holder on another host: an old heartbeat is taken over, a fresh one is respected', T, async () => {
  const { config, lock } = setup();
  const other = `${hostname()}-elsewhere`;
  writeLock(lock, { pid: 4242, hostname: other, started_at: ANCIENT, heartbeat_at: new Date(Date.now() - 3_600_000).toISOString(), command: 'x' });
  const old = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(old.code, 0, show(old));
  assert.match(old.stderr, new RegExp(`took over a stale lock: holder pid 4242 on ${other} has not renewed its heartbeat`));
  assert.equal(existsSync(lock), false);

  const fresh = writeLock(lock, { pid: 4242, hostname: other, started_at: ANCIENT, heartbeat_at: new Date().toISOString(), command: 'x' });
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 3, show(r));
  assert.match(r.stderr, new RegExp(`holds the lock: pid 4242 \\(x\\) on ${other}`), 'a holder of unknown role by pid and command');
  assert.equal(readFileSync(lock, 'utf8'), fresh, 'untouched');
});

test('an unreadable lock file is replaced', T, async () => {
  const { config, lock } = setup();
  writeFileSync(lock, '{ this is not json');
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  assert.equal(existsSync(lock), false, 'check took it and released it');
});

test('a lock naming pid 1 is taken over', T, async () => {
  const { config, lock } = setup();
  writeLock(lock, { pid: 1, hostname: hostname(), started_at: ANCIENT, heartbeat_at: new Date().toISOString(), command: 'init', start_ticks: startTicksOf(1) });
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stderr, /took over a stale lock: the lock names pid 1 \(init\), which is never a helpdesk-monitor/);
  assert.equal(existsSync(lock), false);
});

test('a live process that is not a helpdesk-monitor, named with its exact cmdline and start ticks, is taken over and left alone', T, async () => {
  const { config, lock } = setup();
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  const pid = child.pid!;
  ledger.add(pid);
  const cmdline = await waitFor('sleep running', () => {
    const c = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return c.startsWith('sleep') ? c : undefined;
  }, 10_000, 10);
  writeLock(lock, { pid, hostname: hostname(), started_at: ANCIENT, heartbeat_at: ANCIENT, command: 'helpdesk-monitor run', start_ticks: startTicksOf(pid), cmdline });
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stderr, new RegExp(`took over a stale lock: pid ${pid} is not a helpdesk-monitor \\(it runs "sleep 600"\\)`));
  assert.ok(pidAlive(pid), 'the process named in the lock is not harmed');
  child.kill('SIGKILL');
});

test('a live helpdesk-monitor named with its exact cmdline and start ticks keeps the lock, however old the record', T, async () => {
  const other = setup();
  const holder = startCli(['run', '--config', other.config], env, ledger);
  try {
    await holder.waitForLine(/watching 1 app/, 30_000);
    const real = JSON.parse(readFileSync(other.lock, 'utf8')) as Record_ & { cmdline: string };
    const { config, lock } = setup();
    const text = writeLock(lock, { ...real, started_at: ANCIENT, heartbeat_at: ANCIENT });
    const r = await runCli(['check', '--config', config], env, 60_000);
    assert.equal(r.code, 3, show(r));
    assert.match(r.stderr, new RegExp(`holds the lock: \`run\` \\(pid ${holder.child.pid}\\) on ${hostname()}`));
    assert.equal(readFileSync(lock, 'utf8'), text, 'untouched');
  } finally {
    holder.child.kill('SIGTERM');
    await holder.exited;
  }
});
