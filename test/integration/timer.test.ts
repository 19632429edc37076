// The fallback watch as installed on a host: `install-timer --systemd` writes units that pass
// `systemd-analyze verify` and whose ExecStart really runs check; `install-timer --cron` keeps
// exactly one marked crontab line (the newest schedule), parsed by the real cron-parser, and the
// line itself works under sh (exit 3 counts as success); `uninstall-timer` removes only ours;
// scripts/setup-monitoring.sh is idempotent (against a stub `crontab`, never root's real one).
// Paths with every character systemd, sh or cron treat specially arrive intact; a path with a
// control character (a newline) is refused with exit 2 and nothing is written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { CronExpressionParser } from 'cron-parser';
import { ROOT, createSandbox, type Sandbox } from '../helpers/sandbox.js';
import { runCli, startCli, type CliResult } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';
import { configIn, freshDir, sandboxCliEnv, startExampleHealthy } from '../helpers/operator.js';
import { cronCommand, execArgv, unitEnv, unitValues } from '../helpers/unit-file.js';
import { systemdUnits } from '../../src/timer/units.js';

const PORT = 47680;
const APP = 'tm-app';
const UNIT = 'helpdesk-monitor-check';
const MARKER = '# helpdesk-monitor-check';
const T = { timeout: 120_000 };
const OTHER_LINES = ['MAILTO=ops@example.com', '# nightly backup, keep', '0 1 * * * /usr/local/bin/backup --all'];

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('timer');
  env = sandboxCliEnv(sb);
  await startExampleHealthy(sb, APP, PORT);
});
after(async () => {
  ledger.killAll();
  await sb.teardown();
});

const show = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

function setup(): { config: string; stateDir: string } {
  const stateDir = freshDir(sb.home, 'state');
  const config = configIn(sb.home, {
    state_dir: stateDir,
    apps: [{ name: APP, health: { url: `http://127.0.0.1:${PORT}/health`, timeout: '1s', interval: '500ms' }, startup_grace: 0, ports: [PORT] }],
  });
  return { config, stateDir };
}

const markedLines = (text: string): string[] => text.split('\n').filter((l) => l.endsWith(MARKER));

/** systemd-analyze verify on unit files; fails the test (never skips) when systemd-analyze is missing. */
function verify(...files: string[]): { status: number | null; stdout: string; stderr: string } {
  const v = spawnSync('systemd-analyze', ['verify', ...files], { encoding: 'utf8', timeout: 60_000 });
  if (v.error && (v.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail('systemd-analyze is not installed: this test needs it (install systemd; CI does). It is never skipped.');
  }
  return { status: v.status, stdout: v.stdout, stderr: v.stderr };
}

/** Run what a service's ExecStart= would run, argv and Environment= as systemd builds them. */
function runService(service: string): { status: number | null; stdout: string; stderr: string } {
  const [file, ...args] = execArgv(unitValues(service, 'ExecStart')[0] ?? '');
  const r = spawnSync(file!, args, { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...unitEnv(service) }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under a directory with its bytes (to prove a refused install changed nothing). */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, name);
    out[name] = statSync(p).isDirectory() ? '(dir)' : readFileSync(p, 'latin1');
  }
  return out;
}

/** True when text has a control character other than the newlines that end its lines. */
function rawControls(text: string): boolean {
  return [...text].some((c) => {
    const cp = c.codePointAt(0)!;
    return cp !== 0x0a && (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f));
  });
}

/** Run a shell command line with a minimal env, like cron or systemd would. */
function sh(command: string, extraEnv: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...extraEnv }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('install-timer --systemd writes a service and a timer that pass systemd-analyze verify and run check', T, async () => {
  const { config } = setup();
  const unitDir = join(freshDir(sb.home, 'units'), 'system');
  // A relative --config: the unit must store the absolute path.
  const rel = relative(process.cwd(), config);
  assert.ok(!rel.startsWith('/'), 'the test passes a relative path');
  const r = await runCli(['install-timer', '--systemd', '--unit-dir', unitDir, '--config', rel], env, 60_000);
  assert.equal(r.code, 0, show(r));
  const servicePath = join(unitDir, `${UNIT}.service`);
  const timerPath = join(unitDir, `${UNIT}.timer`);
  assert.ok(existsSync(servicePath) && existsSync(timerPath), `both units written to ${unitDir}`);
  const service = readFileSync(servicePath, 'utf8');
  const timer = readFileSync(timerPath, 'utf8');

  const verified = verify(servicePath, timerPath);
  assert.equal(verified.status, 0, `systemd-analyze verify failed:\n${verified.stdout}\n${verified.stderr}`);
  assert.ok(!verified.stderr.includes(UNIT), `no warnings about our units:\n${verified.stderr}`);

  assert.deepEqual(unitValues(service, 'SuccessExitStatus'), ['3']);
  assert.deepEqual(unitValues(service, 'Type'), ['oneshot']);
  const exec = unitValues(service, 'ExecStart');
  assert.equal(exec.length, 1);
  assert.ok(exec[0]!.endsWith(` check --config ${config}`), `ExecStart runs check with the absolute config: ${exec[0]}`);
  assert.ok(exec[0]!.startsWith(`${process.execPath} `), 'with an absolute node');
  assert.ok(unitValues(service, 'Environment').includes(`PM2_HOME=${sb.home}`), 'PM2_HOME pinned to the home install-timer ran with');
  assert.deepEqual(unitValues(timer, 'OnUnitActiveSec'), ['300s'], 'every 5m by default');
  assert.deepEqual(unitValues(timer, 'Unit'), [`${UNIT}.service`]);

  // What systemd would run (argv and environment by its quoting rules), run here: check passes.
  const run = runService(service);
  assert.equal(run.status, 0, `the ExecStart command exits 0:\n${run.stderr}`);
  assert.match(run.stdout, new RegExp(`^OK +${APP}: healthy$`, 'm'));

  // A config path with every character systemd, sh or cron treat specially still verifies, and
  // the command line systemd would build from it (unquoted, %% -> %, $$ -> $) names the file.
  const oddDir = join(freshDir(sb.home, 'odd'), `my 100% "sure" it's \\ $HOME \${X} ; # \`dir\``);
  mkdirSync(oddDir);
  const odd = join(oddDir, 'monitor.yaml');
  writeFileSync(odd, readFileSync(config, 'utf8'));
  const oddUnits = freshDir(sb.home, 'units-odd');
  const ro = await runCli(['install-timer', '--systemd', '--unit-dir', oddUnits, '--config', odd], env, 60_000);
  assert.equal(ro.code, 0, show(ro));
  const oddService = join(oddUnits, `${UNIT}.service`);
  const vo = verify(oddService, join(oddUnits, `${UNIT}.timer`));
  assert.equal(vo.status, 0, `systemd-analyze verify with an odd config path:\n${vo.stderr}\n${readFileSync(oddService, 'utf8')}`);
  assert.ok(!vo.stderr.includes(UNIT), `no warnings about our units:\n${vo.stderr}`);
  const oddText = readFileSync(oddService, 'utf8');
  const oddExec = unitValues(oddText, 'ExecStart')[0] ?? '';
  assert.ok(!oddExec.replace(/%%/g, '').includes('%'), `every % is doubled, so systemd expands no specifier: ${oddExec}`);
  assert.deepEqual(execArgv(oddExec).slice(2), ['check', '--config', odd], oddExec);
  const oddRun = runService(oddText);
  assert.equal(oddRun.status, 0, `the odd ExecStart runs check on ${odd}:\n${oddRun.stderr}\n${oddExec}`);
  assert.match(oddRun.stdout, new RegExp(`^OK +${APP}: healthy$`, 'm'));

  // --every is honoured; uninstall removes both files.
  const r10 = await runCli(['install-timer', '--systemd', '--unit-dir', unitDir, '--config', config, '--every', '10m'], env, 60_000);
  assert.equal(r10.code, 0, show(r10));
  assert.deepEqual(unitValues(readFileSync(timerPath, 'utf8'), 'OnUnitActiveSec'), ['600s']);
  const u = await runCli(['uninstall-timer', '--systemd', '--unit-dir', unitDir], env, 60_000);
  assert.equal(u.code, 0, show(u));
  assert.equal(existsSync(servicePath) || existsSync(timerPath), false, 'both units removed');
});

test('install-timer --cron keeps exactly one marked line, the newest schedule, and the other lines', T, async () => {
  const { config, stateDir } = setup();
  const crontab = join(freshDir(sb.home, 'cron'), 'crontab');
  writeFileSync(crontab, `${OTHER_LINES.join('\n')}\n`);
  for (let i = 0; i < 3; i++) {
    const r = await runCli(['install-timer', '--cron', '--every', '5m', '--crontab', crontab, '--config', config], env, 60_000);
    assert.equal(r.code, 0, `run ${i + 1}: ${show(r)}`);
  }
  let text = readFileSync(crontab, 'utf8');
  let ours = markedLines(text);
  assert.equal(ours.length, 1, `one marked line after 3 installs:\n${text}`);
  for (const o of OTHER_LINES) assert.ok(text.split('\n').includes(o), `kept: ${o}`);
  const line = ours[0]!;
  assert.ok(line.includes(` check --config ${config} `), line);
  assert.ok(line.includes(`PM2_HOME=${sb.home} `), line);
  assert.ok(line.includes(join(stateDir, 'cron.log')), 'logs to the state dir');

  // The 5-field schedule, parsed by the real cron-parser: runs 5 minutes apart.
  const schedule = line.split(' ').slice(0, 5).join(' ');
  const it = CronExpressionParser.parse(schedule, { currentDate: new Date('2031-02-03T04:05:06Z'), tz: 'UTC' });
  const runs = Array.from({ length: 4 }, () => it.next().getTime());
  for (let i = 1; i < runs.length; i++) assert.equal(runs[i]! - runs[i - 1]!, 5 * 60_000, `${schedule}: run ${i}`);

  // A new interval replaces it: still one line, the newest schedule.
  const r10 = await runCli(['install-timer', '--cron', '--every', '10m', '--crontab', crontab, '--config', config], env, 60_000);
  assert.equal(r10.code, 0, show(r10));
  text = readFileSync(crontab, 'utf8');
  ours = markedLines(text);
  assert.equal(ours.length, 1, text);
  const it10 = CronExpressionParser.parse(ours[0]!.split(' ').slice(0, 5).join(' '), { currentDate: new Date('2031-02-03T04:05:06Z'), tz: 'UTC' });
  assert.equal(-it10.next().getTime() + it10.next().getTime(), 10 * 60_000, 'the newest schedule: every 10 minutes');
  for (const o of OTHER_LINES) assert.ok(text.split('\n').includes(o), `kept: ${o}`);

  // uninstall removes ours only, and is safe to repeat.
  for (let i = 0; i < 2; i++) {
    const u = await runCli(['uninstall-timer', '--cron', '--crontab', crontab], env, 60_000);
    assert.equal(u.code, 0, show(u));
    assert.equal(readFileSync(crontab, 'utf8'), `${OTHER_LINES.join('\n')}\n`, 'exactly the other lines remain');
  }
});

test('the installed cron line works under sh: check runs, and exit 3 (lock held) counts as success', T, async () => {
  const { config, stateDir } = setup();
  const crontab = join(freshDir(sb.home, 'cron'), 'crontab');
  const r = await runCli(['install-timer', '--cron', '--every', '1m', '--crontab', crontab, '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  const line = markedLines(readFileSync(crontab, 'utf8'))[0] ?? '';
  assert.ok(line.startsWith('* * * * * '), line);
  const { command, stdin } = cronCommand(line);
  assert.equal(stdin, '', 'cron would not cut the command at a %');
  const log = join(stateDir, 'cron.log');

  const ok = sh(command);
  assert.equal(ok.status, 0, `the cron command exits 0: ${ok.stderr}`);
  assert.match(readFileSync(log, 'utf8'), new RegExp(`^OK +${APP}: healthy$`, 'm'), 'check ran and logged to cron.log');

  const run = startCli(['run', '--config', config], env, ledger);
  try {
    await run.waitForLine(/watching 1 app/, 30_000);
    const held = sh(command);
    assert.equal(held.status, 0, 'exit 3 is success for cron');
    assert.match(readFileSync(log, 'utf8'), new RegExp(`holds the lock: \`run\` \\(pid ${run.child.pid}\\) on `), 'the skip is logged');
  } finally {
    run.child.kill('SIGTERM');
    assert.equal((await run.exited).code, 0);
  }
});

test('install-timer refuses what it cannot do with exit 2', T, async () => {
  const { config } = setup();
  const crontab = join(freshDir(sb.home, 'cron'), 'crontab');
  const unitDir = freshDir(sb.home, 'units');
  const bad = configIn(sb.home, { apps: [{ name: APP, helth: {} }] });
  const cases: readonly [string, readonly string[]][] = [
    ['--every 7m with cron', ['install-timer', '--cron', '--every', '7m', '--crontab', crontab, '--config', config]],
    ['--every 90s with cron', ['install-timer', '--cron', '--every', '90s', '--crontab', crontab, '--config', config]],
    ['--every 5h with cron', ['install-timer', '--cron', '--every', '5h', '--crontab', crontab, '--config', config]],
    ['--every soon', ['install-timer', '--cron', '--every', 'soon', '--crontab', crontab, '--config', config]],
    ['--every 5s with systemd', ['install-timer', '--systemd', '--every', '5s', '--unit-dir', unitDir, '--config', config]],
    ['neither --cron nor --systemd', ['install-timer', '--crontab', crontab, '--config', config]],
    ['both --cron and --systemd', ['install-timer', '--cron', '--systemd', '--crontab', crontab, '--config', config]],
    ['an invalid config', ['install-timer', '--cron', '--crontab', crontab, '--config', bad]],
    ['an unknown flag', ['install-timer', '--cron', '--crontab', crontab, '--config', config, '--hourly']],
    ['uninstall without a mode', ['uninstall-timer', '--crontab', crontab]],
  ];
  for (const [what, args] of cases) {
    const r = await runCli(args, env, 60_000);
    assert.equal(r.code, 2, `${what}: ${show(r)}`);
    assert.match(r.stderr, /helpdesk-monitor: /, `${what}: a message`);
  }
  assert.equal(existsSync(crontab), false, 'no crontab was written by a refused install');
  assert.equal(existsSync(join(unitDir, `${UNIT}.service`)), false, 'no unit was written by a refused install');
  const seven = await runCli(['install-timer', '--cron', '--every', '7m', '--crontab', crontab, '--config', config], env, 60_000);
  assert.match(seven.stderr, /--systemd/, 'the 7m refusal points at --systemd');

  for (const cmd of ['install-timer', 'uninstall-timer']) {
    const h = await runCli([cmd, '--help'], env, 30_000);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /Example/);
  }
});

test('systemd takes the executable path as written: a node at a path with space, $, %, ;, # and é verifies', T, () => {
  const dir = join(freshDir(sb.home, 'odd-node'), 'n ode $HOME ${X} $$ 100% ; # é');
  mkdirSync(dir);
  const node = join(dir, 'node');
  copyFileSync('/bin/true', node);
  chmodSync(node, 0o755);
  const units = freshDir(sb.home, 'units-odd-node');
  const { service, timer } = systemdUnits({ node, cli: join(dir, 'cli.js'), config: join(dir, 'monitor.yaml'), pm2Home: dir }, 5 * 60_000);
  writeFileSync(join(units, `${UNIT}.service`), service);
  writeFileSync(join(units, `${UNIT}.timer`), timer);
  // verify fails with "is not executable" when systemd reads another path than the one written.
  const v = verify(join(units, `${UNIT}.service`), join(units, `${UNIT}.timer`));
  assert.equal(v.status, 0, `systemd-analyze verify with an odd node path:\n${v.stderr}\n${service}`);
  assert.ok(!v.stderr.includes(UNIT), `no warnings about our units:\n${v.stderr}`);
  assert.equal(execArgv(unitValues(service, 'ExecStart')[0]!)[0], node);
  assert.deepEqual(unitEnv(service)['PM2_HOME'], dir);
});

test('a control character in the config path, PM2_HOME or state_dir: exit 2 naming the value, and nothing written', T, async () => {
  const { config } = setup();
  const base = freshDir(sb.home, 'refuse');
  const unitDir = join(base, 'units');
  const crontab = join(base, 'crontab');
  // What an earlier good install left, among the user's own lines: a refused install must not touch it.
  writeFileSync(crontab, `${OTHER_LINES.join('\n')}\r\n\n0 2 * * * echo '${MARKER}'\n`);
  for (const args of [['--systemd', '--unit-dir', unitDir], ['--cron', '--crontab', crontab]]) {
    const r = await runCli(['install-timer', ...args, '--config', config], env, 60_000);
    assert.equal(r.code, 0, show(r));
  }
  const before = { units: snapshot(unitDir), crontab: readFileSync(crontab, 'latin1') };
  assert.equal(Object.keys(before.units).length, 2);

  /** A copy of the good config at a path whose directory name carries `evil`. */
  const configAt = (evil: string, stateDir?: string): string => {
    const dir = join(base, `cfg${evil}`);
    mkdirSync(dir);
    const file = join(dir, 'monitor.yaml');
    const text = readFileSync(config, 'utf8');
    writeFileSync(file, stateDir ? text.replace(/^state_dir: .*$/m, `state_dir: ${JSON.stringify(stateDir)}`) : text);
    return file;
  };
  const newStateDir = join(base, 'state\nnew');
  const cases: readonly { what: string; config: string; extraEnv?: Record<string, string>; escaped: string; modes: readonly ('systemd' | 'cron')[] }[] = [
    { what: 'a newline in the config path', config: configAt('\nExecStartPre=touch pwned'), escaped: 'cfg\\x0aExecStartPre=touch pwned/monitor.yaml', modes: ['systemd', 'cron'] },
    { what: 'ESC in the config path', config: configAt('\u001b[31mred'), escaped: 'cfg\\x1b[31mred/monitor.yaml', modes: ['systemd', 'cron'] },
    { what: 'a CR and a tab in the config path', config: configAt('\r\tx'), escaped: 'cfg\\x0d\\x09x/monitor.yaml', modes: ['systemd', 'cron'] },
    { what: 'a newline in PM2_HOME', config, extraEnv: { PM2_HOME: join(base, 'home\n* * * * * touch pwned #') }, escaped: 'home\\x0a* * * * * touch pwned #', modes: ['systemd', 'cron'] },
    // state_dir reaches the cron line only (the cron log); a unit does not name it.
    { what: 'a newline in state_dir (the cron log)', config: configAt('-state', newStateDir), escaped: 'state\\x0anew/cron.log', modes: ['cron'] },
  ];
  for (const c of cases) {
    for (const m of c.modes) {
      const args = m === 'systemd' ? ['--systemd', '--unit-dir', unitDir] : ['--cron', '--crontab', crontab];
      const r = await runCli(['install-timer', ...args, '--config', c.config], { ...env, ...c.extraEnv }, 60_000);
      const label = `${c.what}, --${m}`;
      assert.equal(r.code, 2, `${label}: ${show(r)}`);
      assert.match(r.stderr, /contains a control character/, label);
      assert.ok(r.stderr.includes(c.escaped), `${label}: the value is named, escaped (${c.escaped}):\n${r.stderr}`);
      assert.equal(rawControls(r.stderr), false, `${label}: no raw control character is printed:\n${JSON.stringify(r.stderr)}`);
      assert.equal(r.stdout, '', `${label}: nothing was done, so nothing is reported`);
      assert.deepEqual(snapshot(unitDir), before.units, `${label}: the unit files are unchanged`);
      assert.equal(readFileSync(crontab, 'latin1'), before.crontab, `${label}: the crontab is unchanged`);
    }
  }
  assert.equal(existsSync(newStateDir), false, 'the refused state_dir was not created');
  assert.equal(readdirSync(base).some((n) => n.startsWith('home')), false, 'nothing was created under the refused PM2_HOME');
});

test('uninstall-timer --cron removes exactly our line: every other byte stays, and a crontab without ours is not rewritten', T, async () => {
  const { config } = setup();
  const crontab = join(freshDir(sb.home, 'cron-exact'), 'crontab');
  const theirs = [
    'SHELL=/bin/sh\r',
    '',
    `0 2 * * * echo '${MARKER}' > /dev/null`,
    `# */5 * * * * PM2_HOME=/old /usr/bin/node /old/cli.js check --config /old/m.yaml >> /old/cron.log 2>&1 || [ $? -eq 3 ] ${MARKER}`,
    '\t*/2 * * * * /usr/bin/true   # spaces and a tab',
    '',
  ].join('\n');
  writeFileSync(crontab, theirs);
  const r = await runCli(['install-timer', '--cron', '--crontab', crontab, '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  const installed = readFileSync(crontab, 'utf8');
  assert.ok(installed.startsWith(theirs), 'install appends, the user text is untouched');
  assert.equal(markedLines(installed.slice(theirs.length)).length, 1);
  const u = await runCli(['uninstall-timer', '--cron', '--crontab', crontab], env, 60_000);
  assert.equal(u.code, 0, show(u));
  assert.equal(readFileSync(crontab, 'utf8'), theirs, 'byte-identical to before the install');
  const mtime = statSync(crontab).mtimeMs;
  const again = await runCli(['uninstall-timer', '--cron', '--crontab', crontab], env, 60_000);
  assert.equal(again.code, 0, show(again));
  assert.match(again.stdout, /nothing changed/);
  assert.equal(statSync(crontab).mtimeMs, mtime, 'not rewritten');
});

test('scripts/setup-monitoring.sh --cron is idempotent (stub crontab, temp HOME and PM2_HOME)', T, async () => {
  const { config } = setup();
  const base = freshDir(sb.home, 'setup');
  const home = join(base, 'home');
  const pm2Home = join(home, '.pm2');
  const bin = join(base, 'bin');
  mkdirSync(home, { recursive: true });
  mkdirSync(bin);
  const store = join(base, 'crontab.txt');
  const calls = join(base, 'crontab-calls.txt');
  writeFileSync(store, `${OTHER_LINES.join('\n')}\n`);
  // A stand-in for crontab(1): -l prints the stored file, - replaces it from stdin.
  writeFileSync(
    join(bin, 'crontab'),
    `#!/bin/sh
echo "$*" >> '${calls}'
case "$1" in
  -l) if [ -f '${store}' ]; then cat '${store}'; else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > '${store}' ;;
  *) echo "crontab stub: unexpected arguments: $*" >&2; exit 2 ;;
esac
`,
  );
  chmodSync(join(bin, 'crontab'), 0o755);
  const realBefore = spawnSync('crontab', ['-l'], { encoding: 'utf8' });

  const scriptEnv = {
    PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    HOME: home,
    PM2_HOME: pm2Home,
    PM2_DISCRETE_MODE: 'true',
    TMPDIR: join(sb.home, 'tmp'),
  };
  for (let i = 0; i < 2; i++) {
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'setup-monitoring.sh'), '--cron', '--config', config], { encoding: 'utf8', env: scriptEnv, timeout: 90_000 });
    assert.equal(r.status, 0, `setup run ${i + 1}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /installing the fallback watch \(--cron, every 5m\)/);
  }
  const text = readFileSync(store, 'utf8');
  const ours = markedLines(text);
  assert.equal(ours.length, 1, `one marked line after two runs:\n${text}`);
  assert.ok(ours[0]!.startsWith('*/5 * * * * '), ours[0]);
  assert.ok(ours[0]!.includes(`PM2_HOME=${pm2Home} `), 'the temp PM2_HOME is used');
  assert.ok(ours[0]!.includes(` check --config ${config} `));
  for (const o of OTHER_LINES) assert.ok(text.split('\n').includes(o), `kept: ${o}`);
  const called = readFileSync(calls, 'utf8').trim().split('\n');
  assert.deepEqual(called, ['-l', '-', '-l', '-'], 'it went through crontab -l / crontab - twice');

  const realAfter = spawnSync('crontab', ['-l'], { encoding: 'utf8' });
  assert.deepEqual({ status: realAfter.status, out: realAfter.stdout }, { status: realBefore.status, out: realBefore.stdout }, 'the real crontab is untouched');
});

test('scripts/setup-monitoring.sh prepares the state_dir the config names (mode 0700)', T, async () => {
  const base = freshDir(sb.home, 'setup-state');
  const stateDir = join(base, 'state-not-yet');
  const config = configIn(sb.home, { state_dir: stateDir, apps: [{ name: APP, ports: [PORT] }] });
  const crontab = join(base, 'crontab.txt');
  const bin = join(base, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'crontab'), `#!/bin/sh\ncase "$1" in -l) cat '${crontab}' 2>/dev/null || exit 1 ;; -) cat > '${crontab}' ;; esac\n`);
  chmodSync(join(bin, 'crontab'), 0o755);
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'setup-monitoring.sh'), '--cron', '--config', config], {
    encoding: 'utf8',
    env: { PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, HOME: join(base, 'home'), PM2_HOME: join(base, 'home', '.pm2'), PM2_DISCRETE_MODE: 'true' },
    timeout: 90_000,
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`state and log directory:? ${stateDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), r.stdout);
  assert.equal(statSync(stateDir).mode & 0o777, 0o700, 'the configured state dir is private to the monitor\'s user');
});
