// The monitor as a systemd service (issue 16, part 7): install-service writes a unit for `run`
// that passes `systemd-analyze verify` and scores an exposure of 5.0 or lower in `systemd-analyze
// security --offline=true`; it runs as the owner of PM2_HOME, never root unless --user root says
// so; an unknown --user exits 2 naming the flag; uninstall-service removes only a unit with our
// marker. As root, a throwaway system user gets its own PM2 daemon and a real app that hangs; the
// unit's own command line, run as that user (setpriv, no new privileges, under the unit's
// system-call filter through libseccomp), heals the hang and says which kills it cannot do, in
// its start line and in `status`. No systemd runs here: the mount settings are verified only. Not root: that test is skipped with the reason,
// and CI (which runs as root) never skips it.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import YAML from 'yaml';
import { CLI, ROOT, httpStatus, waitFor } from '../helpers/sandbox.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { assertMatchesSchema } from '../helpers/schema.js';
import { execArgv, unitEnv, unitValues } from '../helpers/unit-file.js';
import { allowedSyscalls } from '../helpers/seccomp.js';
import { serviceUnit } from '../../src/timer/service-unit.js';

const PORT = 48710;
const T = { timeout: 150_000 };
const root = process.getuid?.() === 0;
const base = mkdtempSync(join(tmpdir(), 'hdm-service-'));
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      c();
    } catch (err) {
      process.stderr.write(`cleanup: ${String(err)}\n`);
    }
  }
  rmSync(base, { recursive: true, force: true });
});

const show = (r: CliResult): string => `exit ${r.code} (${r.signal ?? 'no signal'})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** A fresh dir under the test's base. */
function dir(label: string): string {
  return mkdtempSync(join(base, `${label}-`));
}

/** systemd-analyze, failing (never skipping) when it is missing. */
function analyze(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') assert.fail('systemd-analyze is not installed: this test needs it (CI installs systemd). It is never skipped.');
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** verify passes with no word about our unit, and the offline security exposure is at most 5.0; returns the report. */
function assertHardened(unitPath: string): { exposure: number; report: string } {
  const v = analyze(['verify', unitPath]);
  assert.equal(v.status, 0, `systemd-analyze verify failed:\n${v.stdout}\n${v.stderr}`);
  assert.ok(!v.stderr.includes('helpdesk-monitor.service'), `no warnings about the unit:\n${v.stderr}`);
  const s = analyze(['security', '--offline=true', '--no-pager', unitPath]);
  const m = /Overall exposure level for helpdesk-monitor\.service: (\d+\.\d)/.exec(s.stdout);
  assert.ok(m, `an exposure level in:\n${s.stdout}\n${s.stderr}`);
  const exposure = Number(m[1]);
  assert.ok(exposure <= 5.0, `exposure ${exposure} > 5.0:\n${s.stdout}`);
  return { exposure, report: s.stdout };
}

/** A PM2_HOME-like dir and a config for it (no daemon needed to install). */
function setup(owner?: { uid: number; gid: number }): { home: string; config: string; env: NodeJS.ProcessEnv } {
  const home = dir('pm2home');
  const config = join(dir('cfg'), 'monitor.yaml');
  writeFileSync(config, YAML.stringify({ apps: [{ name: 'svc-app', health: { url: `http://127.0.0.1:${PORT}/health` }, ports: [PORT] }] }));
  if (owner) {
    for (const p of [home, config]) chownSync(p, owner.uid, owner.gid);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, PM2_HOME: home };
  delete env['HELPDESK_MONITOR_CONFIG'];
  return { home, config, env };
}

test('install-service refuses root by default, names an unknown --user, and --user root writes a hardened unit; uninstall-service removes only ours', T, async () => {
  const { home, config, env } = setup();
  const units = dir('units');
  const owner = statSync(home).uid;
  if (owner === 0) {
    const r = await runCli(['install-service', '--unit-dir', units, '--config', config], env, 60_000);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /belongs to root, so the service would run as root: pass --user root/);
    assert.deepEqual(readdirSync(units), [], 'nothing written');
  }
  const unknown = await runCli(['install-service', '--user', 'no-such-user-hdm', '--unit-dir', units, '--config', config], env, 60_000);
  assert.equal(unknown.code, 2, show(unknown));
  assert.match(unknown.stderr, /--user: no user named "no-such-user-hdm"/);
  assert.deepEqual(readdirSync(units), []);

  const missing = await runCli(['install-service', '--user', 'root', '--unit-dir', units, '--config', config], { ...env, PM2_HOME: join(home, 'not-there') }, 60_000);
  assert.equal(missing.code, 2, show(missing));
  assert.match(missing.stderr, /PM2_HOME .*not-there does not exist: start PM2 as root first/);
  assert.equal(existsSync(join(home, 'not-there')), false, 'not created by us');
  assert.deepEqual(readdirSync(units), []);

  // --dry-run: the unit on stdout, nothing written.
  const dry = await runCli(['install-service', '--user', 'root', '--unit-dir', units, '--config', config, '--dry-run'], env, 60_000);
  assert.equal(dry.code, 0, show(dry));
  assert.match(dry.stdout, /^# helpdesk-monitor-service: /);
  assert.match(dry.stderr, /warning: the service will run as root/);
  assert.deepEqual(readdirSync(units), []);

  const r = await runCli(['install-service', '--user', 'root', '--unit-dir', units, '--config', config, '--json'], env, 60_000);
  assert.equal(r.code, 0, show(r));
  const doc = JSON.parse(r.stdout) as { unit_path: string; user: string; unit: string; pm2_home: string; state_dir: string };
  assertMatchesSchema('service', doc);
  assert.equal(doc.unit_path, join(units, 'helpdesk-monitor.service'));
  assert.equal(doc.user, 'root');
  const text = readFileSync(doc.unit_path, 'utf8');
  assert.equal(text, doc.unit);
  assert.deepEqual(unitValues(text, 'User'), ['root']);
  assert.deepEqual(unitValues(text, 'CapabilityBoundingSet'), ['CAP_KILL CAP_SYS_PTRACE CAP_DAC_READ_SEARCH'], 'root keeps only what the monitor uses');
  assert.equal(unitEnv(text)['PM2_HOME'], home);
  assert.ok(unitEnv(text)['PATH']!.split(':').includes(join(process.execPath, '..')), 'node\'s own directory is on PATH');
  assert.deepEqual(execArgv(unitValues(text, 'ExecStart')[0]!), [process.execPath, CLI, 'run', '--config', config]);
  assert.ok(unitValues(text, 'ReadWritePaths')[0]!.includes(home), 'PM2_HOME is writable');
  // Every relaxed setting says why, on the comment lines just above it.
  const lines = text.split('\n');
  for (const relaxed of ['MemoryDenyWriteExecute=no', 'ProtectProc=default', 'PrivateUsers=no', 'PrivateTmp=no']) {
    const at = lines.indexOf(relaxed);
    assert.ok(at > 0, `${relaxed} is in the unit`);
    assert.ok(lines[at - 1]!.startsWith('# '), `${relaxed} has a comment above it`);
  }
  assert.ok(existsSync(doc.state_dir), 'the state dir is made');
  assertHardened(doc.unit_path);

  // uninstall-service: a unit without our marker is left alone; ours is removed.
  const foreignDir = dir('foreign');
  const foreign = join(foreignDir, 'helpdesk-monitor.service');
  writeFileSync(foreign, '[Service]\nExecStart=/bin/true\n');
  const refused = await runCli(['uninstall-service', '--unit-dir', foreignDir], env, 60_000);
  assert.equal(refused.code, 1, show(refused));
  assert.match(refused.stderr, /was not written by install-service \(no marker line\): left alone/);
  assert.equal(readFileSync(foreign, 'utf8'), '[Service]\nExecStart=/bin/true\n');
  const again = await runCli(['install-service', '--user', 'root', '--unit-dir', foreignDir, '--config', config], env, 60_000);
  assert.equal(again.code, 2, 'install-service does not overwrite a unit that is not ours');
  const gone = await runCli(['uninstall-service', '--unit-dir', units, '--json'], env, 60_000);
  assert.equal(gone.code, 0, show(gone));
  assertMatchesSchema('service', JSON.parse(gone.stdout));
  assert.deepEqual(JSON.parse(gone.stdout), { unit_path: doc.unit_path, present: true, ours: true, dry_run: false, removed: true });
  assert.equal(existsSync(doc.unit_path), false);
  const none = await runCli(['uninstall-service', '--unit-dir', units], env, 60_000);
  assert.equal(none.code, 0, 'nothing installed: still fine');
});

test('install-service replaces a link planted at the unit path, never writing through it', T, async () => {
  const { config, env } = setup();
  const units = dir('units-link');
  // The link points at a unit of ours elsewhere (it carries the marker line, so the install goes ahead).
  const elsewhere = join(dir('elsewhere'), 'target.service');
  const before = serviceUnit({ node: process.execPath, cli: CLI, config: '/elsewhere/monitor.yaml', pm2Home: '/home/deploy/.pm2', stateDir: '/var/lib/helpdesk-monitor', user: 'daemon' });
  writeFileSync(elsewhere, before);
  const path = join(units, 'helpdesk-monitor.service');
  symlinkSync(elsewhere, path);
  const r = await runCli(['install-service', '--user', 'root', '--unit-dir', units, '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  assert.equal(readFileSync(elsewhere, 'utf8'), before, 'the link\'s target is untouched');
  assert.ok(lstatSync(path).isFile(), 'the unit path is now a file of its own');
  assert.match(readFileSync(path, 'utf8'), /^ExecStart=.* run --config /m);
});

test('a unit for a PM2 user outside /tmp keeps PrivateTmp and every protection: verify and exposure', () => {
  const units = dir('pure');
  const path = join(units, 'helpdesk-monitor.service');
  writeFileSync(path, serviceUnit({ node: process.execPath, cli: CLI, config: '/etc/helpdesk/monitor.yaml', pm2Home: '/home/deploy/.pm2', stateDir: '/var/lib/helpdesk-monitor', user: 'daemon' }));
  const text = readFileSync(path, 'utf8');
  assert.deepEqual(unitValues(text, 'PrivateTmp'), ['yes']);
  assert.deepEqual(unitValues(text, 'CapabilityBoundingSet'), ['']);
  assert.deepEqual(unitValues(text, 'ReadWritePaths'), ['/home/deploy/.pm2 /var/lib/helpdesk-monitor']);
  const { exposure, report } = assertHardened(path);
  process.stdout.write(`# exposure of a non-root unit: ${exposure}\n${report.split('\n').filter((l) => l.startsWith('✗') || l.startsWith('→')).map((l) => `# ${l}`).join('\n')}\n`);
});

test('MemoryDenyWriteExecute stays off because node cannot run under it (prctl PR_SET_MDWE, what systemd applies)', (t) => {
  // python3 sets the same flag systemd sets for MemoryDenyWriteExecute=yes, then execs node.
  const py = `import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0: sys.exit(77)
os.execv(sys.argv[1], [sys.argv[1], '-e', 'let s = 0; for (let i = 0; i < 1e7; i++) s += i; console.log(s)'])`;
  const r = spawnSync('python3', ['-c', py, process.execPath], { encoding: 'utf8', timeout: 60_000 });
  assert.ok(!r.error, `python3 runs (CI installs it): ${String(r.error)}`);
  if (r.status === 77) return void t.skip('this kernel has no PR_SET_MDWE (Linux < 6.3)');
  assert.notEqual(r.status, 0, 'node fails under W^X');
  assert.match(r.stderr, /SetPermissions|Fatal error/, 'V8 aborts when it cannot map its JIT code');
  const plain = spawnSync(process.execPath, ['-e', 'console.log(1)'], { encoding: 'utf8' });
  assert.equal(plain.status, 0, 'and runs without it');
});

interface SysUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/**
 * The installation as the throwaway user can reach it: the checkout may sit under a directory
 * only root may enter (a CI clone in a 0700 mktemp dir), so what the user runs (package.json,
 * dist/src, node_modules and two fixtures) is linked (or copied, across filesystems) into the
 * test's own 0755 tree. Hard links share the files' own modes (0644/0755).
 */
function userInstall(): { root: string; cli: string; pm2: string } {
  const root = dir('install');
  chmodSync(root, 0o755);
  mkdirSync(join(root, 'dist'), { mode: 0o755 });
  mkdirSync(join(root, 'test', 'fixtures'), { recursive: true, mode: 0o755 });
  chmodSync(join(root, 'test'), 0o755);
  const parts: [string, string][] = [
    ['package.json', 'package.json'], [join('dist', 'src'), join('dist', 'src')], ['node_modules', 'node_modules'],
    [join('test', 'fixtures', 'hang-after.cjs'), join('test', 'fixtures', 'hang-after.cjs')],
    [join('test', 'fixtures', 'seccomp-exec.py'), join('test', 'fixtures', 'seccomp-exec.py')],
  ];
  for (const [from, to] of parts) {
    const linked = spawnSync('cp', ['-al', join(ROOT, from), join(root, to)], { encoding: 'utf8' });
    if (linked.status !== 0) {
      const copied = spawnSync('cp', ['-a', join(ROOT, from), join(root, to)], { encoding: 'utf8' });
      assert.equal(copied.status, 0, `cp -a ${from}: ${copied.stderr}`);
    }
  }
  return { root, cli: join(root, 'dist', 'src', 'cli', 'index.js'), pm2: join(root, 'node_modules', 'pm2', 'bin', 'pm2') };
}

/** Run as the user (setpriv), with exactly this env. */
function asUser(u: SysUser, argv: readonly string[], env: NodeJS.ProcessEnv): ReturnType<typeof spawnSync> {
  return spawnSync('setpriv', ['--reuid', String(u.uid), '--regid', String(u.gid), '--init-groups', '--', ...argv], { env, encoding: 'utf8', timeout: 60_000, cwd: u.home });
}

/** Every pid of a uid (the throwaway user's processes are all ours). */
function pidsOf(uid: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try {
      return statSync(`/proc/${pid}`).uid === uid;
    } catch {
      return false;
    }
  });
}

test('as a throwaway system user: the unit\'s `run` watches that user\'s PM2 and heals a hang, and says which kills it cannot do', { ...T, skip: root || process.env['CI'] ? false : 'needs root to create a system user (useradd) and switch to it (setpriv); CI runs as root' }, async () => {
  // Never skipped in CI (.ci/run sets CI): there it must run, as root.
  assert.ok(root, 'CI runs this test as root (it creates a throwaway system user)');
  const name = `hdm-svc-${process.pid % 100000}`;
  const homes = dir('homes');
  chmodSync(base, 0o755);
  chmodSync(homes, 0o755);
  const home = join(homes, name);
  const add = spawnSync('useradd', ['--system', '--create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', '--user-group', name], { encoding: 'utf8' });
  assert.equal(add.status, 0, `useradd: ${add.stderr}`);
  const pw = spawnSync('getent', ['passwd', name], { encoding: 'utf8' }).stdout.split(':');
  const u: SysUser = { name, uid: Number(pw[2]), gid: Number(pw[3]), home };
  cleanups.push(() => {
    for (const pid of pidsOf(u.uid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    spawnSync('userdel', ['--remove', name], { stdio: 'ignore' });
  });

  const pm2Home = join(home, '.pm2');
  mkdirSync(pm2Home, { mode: 0o700 });
  chownSync(pm2Home, u.uid, u.gid);
  const config = join(home, 'monitor.yaml');
  const url = `http://127.0.0.1:${PORT}/health`;
  writeFileSync(config, YAML.stringify({ apps: [{ name: 'svc-app', health: { url, interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: 0, ports: [PORT] }] }));
  chownSync(config, u.uid, u.gid);
  const marker = join(home, 'hang-marker');
  const inst = userInstall();
  const eco = join(home, 'ecosystem.json');
  writeFileSync(eco, JSON.stringify({ apps: [{ name: 'svc-app', script: join(inst.root, 'test', 'fixtures', 'hang-after.cjs'), env: { PORT: String(PORT), HANG_MARKER: marker, HANG_AFTER_MS: '4000' } }] }));
  chownSync(eco, u.uid, u.gid);

  // install-service as root, by default as the owner of PM2_HOME, from an installation the user can read.
  const units = dir('units-user');
  const env: NodeJS.ProcessEnv = { ...process.env, PM2_HOME: pm2Home };
  delete env['HELPDESK_MONITOR_CONFIG'];
  const installed = spawnSync(process.execPath, [inst.cli, 'install-service', '--unit-dir', units, '--config', config], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(installed.status, 0, `install-service: ${installed.stdout}${installed.stderr}`);
  const unitPath = join(units, 'helpdesk-monitor.service');
  const unit = readFileSync(unitPath, 'utf8');
  assert.deepEqual(unitValues(unit, 'User'), [name], 'the owner of PM2_HOME');
  assert.deepEqual(unitValues(unit, 'CapabilityBoundingSet'), ['']);
  const { exposure } = assertHardened(unitPath);
  process.stdout.write(`# exposure of the installed unit (user ${name}): ${exposure}\n`);
  const stateDir = join(pm2Home, 'helpdesk-monitor');
  assert.equal(statSync(stateDir).uid, u.uid, 'the state dir is the user\'s');

  // The user's own PM2 daemon and app.
  const userEnv: NodeJS.ProcessEnv = { HOME: home, PATH: unitEnv(unit)['PATH']!, PM2_HOME: pm2Home, PM2_DISCRETE_MODE: 'true', PM2_DISABLE_VERSION_CHECK: 'true' };
  cleanups.push(() => void asUser(u, [process.execPath, inst.pm2, 'kill'], userEnv));
  const started = asUser(u, [process.execPath, inst.pm2, 'start', eco], userEnv);
  assert.equal(started.status, 0, `pm2 start as ${name}: ${String(started.stderr)}`);
  await waitFor('the app healthy', async () => (await httpStatus(url)) === 200, 30_000);
  const firstPid = (JSON.parse(await (await fetch(url)).text()) as { pid: number }).pid;
  assert.equal(statSync(`/proc/${firstPid}`).uid, u.uid, 'the app runs as the user');

  // What systemd would run: the unit's argv and environment, as the unit's user, with no new
  // privileges and under the unit's own system-call filter (seccomp through libseccomp; EPERM
  // for every call the filter leaves out, as SystemCallErrorNumber=EPERM says).
  const argv = execArgv(unitValues(unit, 'ExecStart')[0]!);
  const allowedFile = join(dir('seccomp'), 'allowed.txt');
  const allowed = allowedSyscalls(unitValues(unit, 'SystemCallFilter'));
  assert.ok(allowed.includes('kill') && !allowed.includes('setuid') && !allowed.includes('mount'), 'the filter keeps kill, drops setuid and mount');
  writeFileSync(allowedFile, allowed.join('\n'));
  chmodSync(join(allowedFile, '..'), 0o755);
  const seccomp = ['python3', join(inst.root, 'test', 'fixtures', 'seccomp-exec.py'), allowedFile];
  const run: ChildProcess = spawn('setpriv', ['--reuid', String(u.uid), '--regid', String(u.gid), '--init-groups', '--no-new-privs', '--', ...seccomp, ...argv], { env: unitEnv(unit), cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  run.stderr!.setEncoding('utf8').on('data', (c: string) => (log += c));
  const exited = new Promise<number | null>((res) => run.on('exit', (code) => res(code)));
  cleanups.push(() => run.exitCode === null && run.kill('SIGKILL'));
  try {
    await waitFor('run watching', () => log.includes('watching 1 app'), 30_000).catch((err: unknown) => assert.fail(`${String(err)}\n${log}`));
    // The limit is said before the first check, so it precedes "watching"; waited for all the same,
    // so a change of order fails on the message below, not on a read that came too early.
    await waitFor('the kill limit said', () => log.includes('not root: it can stop'), 10_000).catch((err: unknown) => assert.fail(`${String(err)}\n${log}`));
    assert.match(log, /^seccomp: \d+ system calls allowed/m, 'run started under the filter');
    assert.match(log, new RegExp(`running as ${name} \\(uid ${u.uid}\\), not root: it can stop and kill only ${name}'s processes; another user's process holding an app's port is reported, never killed`));
    const st = asUser(u, [process.execPath, inst.cli, 'status', '--json', '--config', config], { ...userEnv });
    const status = JSON.parse(String(st.stdout)) as { monitor: { live: boolean; uid: number; kill_limit?: string } };
    assertMatchesSchema('status', status);
    assert.equal(status.monitor.live, true);
    assert.equal(status.monitor.uid, u.uid);
    assert.match(status.monitor.kill_limit ?? '', /not root: it can stop and kill only/);

    // The app freezes itself (SIGSTOP) 4 s after its start; the monitor brings it back.
    await waitFor('the hang', () => existsSync(marker), 20_000);
    await waitFor('a new, healthy instance', async () => {
      if ((await httpStatus(url)) !== 200) return false;
      return (JSON.parse(await (await fetch(url)).text()) as { pid: number }).pid !== firstPid;
    }, 30_000).catch((err: unknown) => assert.fail(`${String(err)}\n${log}`));
    await waitFor('the remedy told', () => /remedy succeeded: healthy again/.test(log), 10_000).catch((err: unknown) => assert.fail(`${String(err)}\n${log}`));
  } finally {
    run.kill('SIGTERM');
    assert.equal(await exited, 0, `run exits 0 on SIGTERM:\n${log}`);
  }
});
