// The monitor's own files under a real PM2 daemon, as the reproductions of issue 10 found them:
// wrong-typed state files (which used to make `check` and `run` exit 1 forever), planted links
// at state.json, control.json, monitor.lock and monitor.log (root writing through them), the
// modes of what the monitor creates, a state dir others may write to, a lock leaked by a failed
// start (the PM2 module then met its own pid forever), and an app named __proto__.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, lstatSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { ROOT, createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, startCli, type CliResult } from '../helpers/cli.js';
import { PidLedger, nobodyIds } from '../helpers/holders.js';
import { configIn, freshDir, sandboxCliEnv, startExampleHealthy } from '../helpers/operator.js';
import { appRecord, readState } from '../helpers/flap.js';
import { procFacts } from '../../src/proc/read.js';

const PORT = 47860;
const APP = 'sf-demo';
const T = { timeout: 150_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('state-files');
  env = sandboxCliEnv(sb);
  await startExampleHealthy(sb, APP, PORT);
});
after(async () => {
  ledger.killAll();
  await sb?.teardown();
});

const show = (r: CliResult): string => `exit ${r.code} (${r.signal ?? 'no signal'})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
const appEntry = (name = APP): Record<string, unknown> => ({
  name, health: { url: `http://127.0.0.1:${PORT}/health`, timeout: '1s', interval: '500ms' }, startup_grace: 0, ports: [PORT],
});

/** A config whose state dir is `stateDir` (a fresh private one unless given). */
function setup(stateDir = freshDir(sb.home, 'state'), apps = [appEntry()]): { config: string; stateDir: string } {
  return { config: configIn(sb.home, { state_dir: stateDir, apps }), stateDir };
}
const asides = (stateDir: string, file: string): string[] => readdirSync(stateDir).filter((f) => f.startsWith(`${file}.corrupt-`));
const stateWarnings = (text: string): string[] => text.split('\n').filter((l) => /the state file .* (has invalid records|is unreadable)/.test(l));
const modeOf = (p: string): number => statSync(p).mode & 0o777;

/** A victim file outside the state dir, as root's /etc/passwd would be. */
function victim(label: string): { path: string; bytes: Buffer } {
  const path = join(freshDir(sb.home, 'victim'), label);
  const bytes = Buffer.from(`root:x:0:0:${label}:/root:/bin/bash\n`);
  writeFileSync(path, bytes);
  chmodSync(path, 0o644);
  return { path, bytes };
}
const intact = (v: { path: string; bytes: Buffer }): void => {
  assert.deepEqual(readFileSync(v.path), v.bytes, `${v.path} is byte-identical`);
  assert.equal(modeOf(v.path), 0o644, `${v.path} keeps its mode`);
};

const WRONG_TYPED: [string, string, RegExp][] = [
  ['an app record that is null (the issue\'s reproduction)', '{"version":1,"apps":{"demo":null}}', /has invalid records \("demo": \(root\): .*expected object, received null\)/],
  ['the monitored app\'s own record null', `{"version":1,"apps":{"${APP}":null}}`, new RegExp(`has invalid records \\("${APP}": `)],
  ['apps as a list', '{"version":1,"apps":[{"phase":"healthy"}]}', /is unreadable \(not a helpdesk-monitor state document \(apps: expected an object of apps by name\)\)/],
  ['a field of the wrong type', `{"version":1,"apps":{"${APP}":{"phase":"healthy","consecutive_failures":"many","failed_remedies":0}}}`, /has invalid records \(.*consecutive_failures: .*expected number/],
];

for (const [what, text, warning] of WRONG_TYPED) {
  test(`wrong-typed state.json (${what}): \`check\` still probes; the file is kept aside once, with one warning`, T, async () => {
    const { config, stateDir } = setup();
    writeFileSync(join(stateDir, 'state.json'), text);
    const one = await runCli(['check', '--config', config], env, 60_000);
    assert.equal(one.code, 0, `the healthy app is checked and found healthy: ${show(one)}`);
    assert.match(one.stdout, new RegExp(`OK\\s+${APP}`), show(one));
    const warned = stateWarnings(one.stderr);
    assert.equal(warned.length, 1, `one warning:\n${one.stderr}`);
    assert.match(warned[0]!, warning);
    assert.match(warned[0]!, /\(kept as .*state\.json\.corrupt-.*\)/);
    const kept = asides(stateDir, 'state.json');
    assert.equal(kept.length, 1);
    assert.equal(readFileSync(join(stateDir, kept[0]!), 'utf8'), text, 'kept byte for byte');
    assert.ok(warned[0]!.includes(join(stateDir, kept[0]!)), 'the warning says where');
    assert.equal(appRecord(stateDir, APP)?.phase, 'healthy', 'a fresh state.json with the app');

    const two = await runCli(['check', '--config', config], env, 60_000);
    assert.equal(two.code, 0, show(two));
    assert.deepEqual(stateWarnings(two.stderr), [], 'nothing to say the second time');
    assert.equal(asides(stateDir, 'state.json').length, 1, 'kept aside once');
    assert.equal(stateWarnings(readFileSync(join(stateDir, 'monitor.log'), 'utf8')).length, 1, 'once in monitor.log');
  });
}

test('`run` with a wrong-typed state.json keeps probing (it used to exit 1 with a TypeError)', T, async () => {
  const { config, stateDir } = setup();
  writeFileSync(join(stateDir, 'state.json'), `{"version":1,"apps":{"${APP}":{"phase":7,"consecutive_failures":0,"failed_remedies":0},"demo":null}}`);
  const run = startCli(['run', '--config', config], env, ledger);
  try {
    await run.waitForLine(/watching 1 app/, 30_000);
    await run.waitForLine(new RegExp(`\\[${APP}\\] .*unknown -> healthy`), 15_000);
    await waitFor('state.json rewritten by run', () => readState(stateDir)?.pid === run.child.pid && appRecord(stateDir, APP)?.phase === 'healthy', 15_000, 100);
    assert.equal(stateWarnings(run.stderrLines.join('\n')).length, 1);
    assert.match(stateWarnings(run.stderrLines.join('\n'))[0]!, new RegExp(`"${APP}": phase: .*; "demo": .*those apps start with fresh state`));
    assert.equal(asides(stateDir, 'state.json').length, 1);
    assert.equal(run.child.exitCode, null, 'still running');
  } finally {
    run.child.kill('SIGTERM');
    assert.equal((await run.exited).code, 0);
  }
});

test('planted links at state.json, control.json and monitor.lock: `check` works and every victim is byte-identical', T, async () => {
  const { config, stateDir } = setup();
  const vs = { state: victim('state'), control: victim('control'), lock: victim('lock') };
  symlinkSync(vs.state.path, join(stateDir, 'state.json'));
  symlinkSync(vs.control.path, join(stateDir, 'control.json'));
  symlinkSync(vs.lock.path, join(stateDir, 'monitor.lock'));
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  Object.values(vs).forEach(intact);
  assert.ok(lstatSync(join(stateDir, 'state.json')).isFile(), 'state.json is a file of ours now');
  assert.equal(modeOf(join(stateDir, 'state.json')), 0o600);
  assert.ok(lstatSync(join(stateDir, 'control.json')).isFile(), 'control.json replaced, not followed');
  assert.equal(existsSync(join(stateDir, 'monitor.lock')), false, 'the lock was taken over and released');
  assert.match(r.stderr, /took over a stale lock: the lock file was unreadable/);
  assert.match(r.stderr, /the control file .* cannot be read \(it is a symbolic link\)/);

  // `pause` (the operator's write) through a planted link.
  const again = victim('control-2');
  const cf = join(stateDir, 'control.json');
  rmSync(cf);
  symlinkSync(again.path, cf);
  const p = await runCli(['pause', APP, '--for', '1m', '--config', config], env, 30_000);
  assert.equal(p.code, 0, show(p));
  intact(again);
  assert.ok(lstatSync(cf).isFile());
  assert.equal(modeOf(cf), 0o600);
  assert.ok((JSON.parse(readFileSync(cf, 'utf8')) as { apps: Record<string, { paused_until?: string }> }).apps[APP]?.paused_until);
});

test('a link planted at monitor.log: refused with exit 2 naming the file; the victim is byte-identical', T, async () => {
  const { config, stateDir } = setup();
  const v = victim('log');
  symlinkSync(v.path, join(stateDir, 'monitor.log'));
  for (const cmd of ['check', 'run']) {
    const r = await runCli([cmd, '--config', config], env, 60_000);
    assert.equal(r.code, 2, `${cmd}: ${show(r)}`);
    assert.match(r.stderr, new RegExp(`${join(stateDir, 'monitor.log')} is a symbolic link: refusing to write through it`));
    intact(v);
  }
  assert.equal(existsSync(join(stateDir, 'monitor.lock')), false, 'no lock taken');
});

test('what the monitor creates is private: state dir 0700, state.json, monitor.log, control.json and the lock 0600', T, async () => {
  const stateDir = join(freshDir(sb.home, 'modes'), 'not-yet', 'state');
  const { config } = setup(stateDir);
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  assert.equal(modeOf(stateDir), 0o700, 'state dir');
  assert.equal(modeOf(join(stateDir, '..')), 0o700, 'and the parent it created');
  assert.equal(modeOf(join(stateDir, 'state.json')), 0o600, 'state.json');
  assert.equal(modeOf(join(stateDir, 'monitor.log')), 0o600, 'monitor.log');
  assert.equal((await runCli(['reset', APP, '--config', config], env, 30_000)).code, 0);
  assert.equal(modeOf(join(stateDir, 'control.json')), 0o600, 'control.json');
  const run = startCli(['run', '--config', config], env, ledger);
  try {
    await run.waitForLine(/watching 1 app/, 30_000);
    assert.equal(modeOf(join(stateDir, 'monitor.lock')), 0o600, 'monitor.lock');
  } finally {
    run.child.kill('SIGTERM');
    await run.exited;
  }
  assert.deepEqual(readdirSync(stateDir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
});

test('a group-writable state dir is refused (exit 2, with what to do); nothing is written into it', T, async () => {
  const stateDir = freshDir(sb.home, 'open');
  chmodSync(stateDir, 0o775);
  const { config } = setup(stateDir);
  for (const args of [['check'], ['run'], ['pause', APP]]) {
    const r = await runCli([...args, '--config', config], env, 60_000);
    assert.equal(r.code, 2, `${args[0]}: ${show(r)}`);
    assert.match(r.stderr, new RegExp(`state_dir ${stateDir} is writable by its group \\(mode 0775\\): .*chmod 700 ${stateDir}`));
  }
  assert.deepEqual(readdirSync(stateDir), [], 'no log, lock, state or control file');
  assert.equal(modeOf(stateDir), 0o775, 'left for the operator to judge');
});

test('a state dir of ours that an earlier version left 0755 is made private, with a warning', T, async () => {
  const stateDir = freshDir(sb.home, 'old');
  chmodSync(stateDir, 0o755);
  writeFileSync(join(stateDir, 'monitor.log'), 'an old line\n');
  chmodSync(join(stateDir, 'monitor.log'), 0o644);
  const { config } = setup(stateDir);
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stderr, new RegExp(`state_dir ${stateDir} was readable by others \\(mode 0755\\); it is private now \\(0700\\)`));
  assert.equal(modeOf(stateDir), 0o700);
  assert.equal(modeOf(join(stateDir, 'monitor.log')), 0o600, 'the old log file is tightened too');
  assert.match(readFileSync(join(stateDir, 'monitor.log'), 'utf8'), /^an old line\n/, 'and kept');
});

test('a state dir owned by another user is refused', T, async (t) => {
  const nobody = nobodyIds();
  if (!nobody) return t.skip('needs root and a user nobody to give the state dir to another uid');
  const stateDir = freshDir(sb.home, 'foreign');
  chownSync(stateDir, nobody.uid, nobody.gid);
  const { config } = setup(stateDir);
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 2, show(r));
  assert.match(r.stderr, new RegExp(`state_dir ${stateDir} is owned by uid ${nobody.uid}, not by the monitor's user \\(uid 0\\)`));
  assert.deepEqual(readdirSync(stateDir), []);
});

test('a lock naming pid 1 is taken over', T, async () => {
  const { config, stateDir } = setup();
  const init = procFacts(1);
  const now = new Date().toISOString();
  writeFileSync(join(stateDir, 'monitor.lock'), JSON.stringify({
    pid: 1, hostname: hostname(), started_at: now, heartbeat_at: now, command: 'init',
    ...(init ? { start_ticks: init.startTicks, cmdline: init.command } : {}),
  }));
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stderr, /took over a stale lock: the lock names pid 1 \(init\), which is never a helpdesk-monitor/);
  assert.equal(existsSync(join(stateDir, 'monitor.lock')), false);
});

/**
 * startMonitor run in a child process (in this process it would share PM2's client singleton with
 * the sandbox): the first start fails after taking the lock (a clock that throws on its first
 * read, which comes after the lock), the second runs in the same process, as the PM2 module's
 * retry does. Prints one JSON line with what it saw.
 */
const TWO_STARTS = `
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
const { startMonitor } = await import(process.env.RUNNER);
const { procFacts } = await import(process.env.PROCFS);
const [config, lock, home] = process.argv.slice(1);
let broken = true;
const clock = { now: () => { if (broken) throw new Error('the clock broke'); return performance.now(); } };
const out = {};
try {
  await startMonitor({ configPath: config, pm2Home: home, console: 'none', clock });
  out.first = 'started';
} catch (err) {
  out.first = err.message;
}
out.lockAfterFailure = existsSync(lock);
const me = procFacts(process.pid);
const now = new Date().toISOString();
// A lock leaked by an older build that did not give it back: it names this very process.
writeFileSync(lock, JSON.stringify({ pid: process.pid, hostname: hostname(), started_at: now, heartbeat_at: now, command: 'leaked', start_ticks: me.startTicks, cmdline: me.command }));
broken = false;
const m = await startMonitor({ configPath: config, pm2Home: home, console: 'none', clock });
out.holder = JSON.parse(readFileSync(lock, 'utf8'));
out.pid = process.pid;
await m.stop();
out.lockAfterStop = existsSync(lock);
process.stdout.write(JSON.stringify(out) + String.fromCharCode(10));
process.exit(0);
`;

test('a start that fails after taking the lock gives it back; a retry in the same process (the PM2 module) takes it', T, async () => {
  const { config, stateDir } = setup();
  const lock = join(stateDir, 'monitor.lock');
  const dist = join(ROOT, 'dist', 'src');
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', TWO_STARTS, config, lock, sb.home], {
      env: { ...env, RUNNER: pathToFileURL(join(dist, 'app', 'lifetime.js')).href, PROCFS: pathToFileURL(join(dist, 'proc', 'read.js')).href },
      timeout: 90_000, encoding: 'utf8',
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }));
  });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { first: string; lockAfterFailure: boolean; holder: { pid: number; command: string }; pid: number; lockAfterStop: boolean };
  assert.equal(out.first, 'the clock broke', 'the first start failed after the lock');
  assert.equal(out.lockAfterFailure, false, 'the failed start gave the lock back');
  assert.equal(out.holder.pid, out.pid, 'the retry holds the lock');
  assert.notEqual(out.holder.command, 'leaked', 'taken over, not "another helpdesk-monitor holds the lock: pid <ourselves>"');
  assert.match(readFileSync(join(stateDir, 'monitor.log'), 'utf8'), new RegExp(`took over a stale lock: the lock names this process \\(pid ${out.pid}\\), which does not hold it`));
  assert.equal(out.lockAfterStop, false, 'released on stop');
});

test('an app named __proto__ survives a state.json round trip', T, async () => {
  const { config, stateDir } = setup(undefined, [{ ...appEntry('__proto__'), health: { url: `http://127.0.0.1:${PORT}/health`, timeout: '1s' } }]);
  const r = await runCli(['check', '--config', config], env, 60_000);
  // No PM2 app has that name: the check fails, and its state is what must survive.
  assert.notEqual(r.code, 2, show(r));
  const text = readFileSync(join(stateDir, 'state.json'), 'utf8');
  assert.match(text, /"__proto__": \{/, `the app is in state.json:\n${text}`);
  const before = (JSON.parse(text) as { apps: Record<string, { phase: string }> }).apps['__proto__']?.phase;
  assert.ok(before, 'an own key with a record');
  const again = await runCli(['check', '--config', config], env, 60_000);
  assert.doesNotMatch(again.stderr, /the state file/, 'read back without complaint');
  assert.match(readFileSync(join(stateDir, 'state.json'), 'utf8'), /"__proto__": \{/);
});
