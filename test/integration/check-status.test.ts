// `status` and `check` as cron, systemd and operators use them: the real CLI against a sandbox
// daemon. status lists every app (configured and PM2-only) with PM2 status, pid, a live health
// probe and the port holders, as JSON or an 80-column table. check's exit codes: 0 healthy,
// 1 unhealthy (or no PM2 daemon, which it never spawns), 2 invalid config, 3 another instance holds
// the lock.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, createSandbox, healthUrl, type Sandbox } from '../helpers/sandbox.js';
import { cliEnv, runCli, startCli, writeRaw } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';
import { configIn, freshDir, pidsWithCommandLine, sandboxCliEnv, spawnStray, startHealthy as startHealthyApp } from '../helpers/operator.js';
import type { ProcessInfo } from '../../src/pm2/adapter.js';

const APP_CWD = join(ROOT, 'examples', 'helpdesk-backend');
const PORT_APP = 47620; // configured, healthy
const PORT_APP_EXTRA = 47621; // configured second port, held by a stray
const PORT_PM2_ONLY = 47622; // PM2 knows it, the config does not
const PORT_SICK = 47623; // configured with a health expectation it never meets
const APP = 'cs-app';
const PM2_ONLY = 'cs-pm2-only-app-with-a-long-name';
const SICK = 'cs-sick';
const T = { timeout: 90_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
const ledger = new PidLedger();
let app: ProcessInfo;
let pm2Only: ProcessInfo;
let strayPid = 0;

const startHealthy = (name: string, port: number): Promise<ProcessInfo> => startHealthyApp(sb, name, port);

/** The healthy config: one app with two ports; its own state dir. */
function okConfig(stateDir = freshDir(sb.home, 'state')): string {
  return configIn(sb.home, {
    state_dir: stateDir,
    apps: [{ name: APP, health: { url: healthUrl(PORT_APP), timeout: '1s', interval: '500ms', failure_threshold: 1 }, startup_grace: 0, ports: [PORT_APP, PORT_APP_EXTRA] }],
  });
}

before(async () => {
  sb = await createSandbox('check-status');
  env = sandboxCliEnv(sb);
  app = await startHealthy(APP, PORT_APP);
  pm2Only = await startHealthy(PM2_ONLY, PORT_PM2_ONLY);
  strayPid = (await spawnStray(PORT_APP_EXTRA, APP_CWD, ledger)).id.pid;
});
after(async () => {
  ledger.killAll();
  await sb.teardown();
});

const cliFailed = (what: string, r: { code: number | null; stdout: string; stderr: string }): string => `${what}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

interface StatusDoc {
  healthy: boolean;
  monitor: unknown;
  apps: {
    name: string;
    healthy: boolean;
    pm2: { status: string; pids: number[]; uptime_ms: number; restarts: number };
    health?: { ok: boolean; status?: number; latency_ms: number };
    ports: { port: number; holders: { pid: number; command: string; uid: number }[] }[];
  }[];
}

test('status --json lists every app, configured and PM2-only, with status, pid, health latency and port holders', T, async () => {
  const r = await runCli(['status', '--json', '--config', okConfig()], env, 60_000);
  assert.equal(r.code, 0, cliFailed('status --json', r));
  const doc = JSON.parse(r.stdout) as StatusDoc;
  const names = doc.apps.map((a) => a.name).sort();
  const inPm2 = (await sb.list()).filter((p) => !p.isModule).map((p) => p.name);
  for (const n of [APP, ...inPm2]) assert.ok(names.includes(n), `${n} is listed: ${names.join(', ')}`);
  assert.equal(new Set(names).size, names.length, 'each app once');
  assert.equal(doc.healthy, true);

  const a = doc.apps.find((x) => x.name === APP);
  assert.ok(a);
  assert.equal(a.healthy, true);
  assert.equal(a.pm2.status, 'online');
  assert.deepEqual(a.pm2.pids, [app.pid]);
  assert.ok(a.pm2.uptime_ms > 0);
  assert.equal(a.health?.ok, true);
  assert.equal(a.health?.status, 200);
  assert.equal(typeof a.health?.latency_ms, 'number');
  assert.ok((a.health?.latency_ms ?? -1) >= 0 && (a.health?.latency_ms ?? Infinity) < 1000, `latency ${a.health?.latency_ms}`);
  assert.deepEqual(a.ports.map((p) => p.port), [PORT_APP, PORT_APP_EXTRA]);
  assert.deepEqual(a.ports[0]?.holders.map((h) => h.pid), [app.pid], 'the app holds its port');
  assert.deepEqual(a.ports[1]?.holders.map((h) => h.pid), [strayPid], 'the stray holding the second port is shown');
  assert.match(a.ports[1]?.holders[0]?.command ?? '', /createServer/);

  const o = doc.apps.find((x) => x.name === PM2_ONLY);
  assert.ok(o, 'the PM2-only app is listed');
  assert.equal(o.pm2.status, 'online');
  assert.deepEqual(o.pm2.pids, [pm2Only.pid]);
  assert.equal(o.health, undefined, 'no health URL known for it');
  assert.deepEqual(o.ports, []);
});

test('status (plain) prints a row per app with status, pid and health', T, async () => {
  const r = await runCli(['status', '--config', okConfig()], env, 60_000);
  assert.equal(r.code, 0, cliFailed('status', r));
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^APP +PM2 +PID/);
  const row = lines.find((l) => l.startsWith(`${APP} `));
  assert.ok(row, r.stdout);
  assert.match(row, / online /);
  assert.match(row, new RegExp(` ${app.pid} `));
  assert.match(row, / 200 \d+ms /);
  // A name longer than its column is never cut: it gets a line of its own, the cells follow.
  const at = lines.indexOf(PM2_ONLY);
  assert.ok(at > 0, `the PM2-only app's long name on a line of its own: ${r.stdout}`);
  assert.match(lines[at + 1] ?? '', new RegExp(`^ +online +${pm2Only.pid} `));
  assert.match(r.stdout, new RegExp(`port ${PORT_APP_EXTRA} is held by pid ${strayPid} `), 'the stray is named under the table');
  assert.match(lines.at(-1) ?? '', /^monitor: not running/);

  // Naming apps narrows the table; an unknown name is bad usage.
  const one = await runCli(['status', APP, '--json', '--config', okConfig()], env, 60_000);
  assert.equal(one.code, 0, cliFailed('status APP', one));
  assert.deepEqual((JSON.parse(one.stdout) as StatusDoc).apps.map((a) => a.name), [APP]);
  const unknown = await runCli(['status', 'cs-nope', '--config', okConfig()], env, 60_000);
  assert.equal(unknown.code, 2, cliFailed('status cs-nope', unknown));
  assert.match(unknown.stderr, /unknown app\(s\): cs-nope/);
});

test('status (plain) fits 80 columns, with the MONITOR column filled in', T, async () => {
  const config = okConfig();
  // A check first, so the state file gives the MONITOR column content.
  await runCli(['check', '--config', config], env, 60_000);
  const r = await runCli(['status', '--config', config], env, 60_000);
  assert.equal(r.code, 0, cliFailed('status', r));
  const lines = r.stdout.split('\n').filter(Boolean);
  assert.ok(lines.length >= 4, r.stdout);
  assert.match(lines.find((l) => l.startsWith(`${APP} `)) ?? '', / healthy$/, `the MONITOR column shows the state file: ${r.stdout}`);
  for (const l of lines) assert.ok([...l].length <= 80, `${[...l].length} chars: ${l}`);
});

test('check exits 0 when every app is healthy', T, async () => {
  const r = await runCli(['check', '--config', okConfig()], env, 60_000);
  assert.equal(r.code, 0, cliFailed('check', r));
  assert.match(r.stdout, new RegExp(`^OK +${APP}: healthy$`, 'm'));
  assert.equal((await sb.info(APP))?.pid, app.pid, 'a healthy app is left alone');
});

test('check --json prints exactly one JSON document', T, async () => {
  const r = await runCli(['check', '--json', '--config', okConfig()], env, 60_000);
  assert.equal(r.code, 0, cliFailed('check --json', r));
  const doc = JSON.parse(r.stdout) as { healthy: boolean; apps: { name: string; healthy: boolean; phase: string; health?: { status?: number } }[] };
  assert.equal(doc.healthy, true);
  assert.deepEqual(doc.apps.map((a) => a.name), [APP]);
  assert.equal(doc.apps[0]?.healthy, true);
  assert.equal(doc.apps[0]?.phase, 'healthy');
  assert.equal(doc.apps[0]?.health?.status, 200);
  assert.doesNotMatch(r.stdout, /^OK /m, 'no human summary with --json');
});

test('check exits 1 when an app stays unhealthy after the remedy, and says why', T, async () => {
  const first = await startHealthy(SICK, PORT_SICK);
  const config = configIn(sb.home, {
    state_dir: freshDir(sb.home, 'state'),
    apps: [{ name: SICK, health: { url: healthUrl(PORT_SICK), timeout: '1s', interval: '500ms', failure_threshold: 1, expect_status: 204 }, startup_grace: 0, ports: [PORT_SICK], verify_timeout: '3s' }],
  });
  const t0 = Date.now();
  const r = await runCli(['check', '--json', '--config', config], env, 60_000);
  const took = Date.now() - t0;
  assert.equal(r.code, 1, cliFailed('check (sick)', r));
  const doc = JSON.parse(r.stdout) as { healthy: boolean; apps: { name: string; healthy: boolean; reason?: string; remedy?: { ok: boolean; failure?: string } }[] };
  assert.equal(doc.healthy, false);
  const sick = doc.apps[0];
  assert.equal(sick?.name, SICK);
  assert.equal(sick?.healthy, false);
  assert.match(sick?.reason ?? '', /204/, 'the reason names the expectation');
  assert.equal(sick?.remedy?.ok, false, 'a remedy was tried and failed verification');
  assert.ok(took < 45_000, `check gave up in reasonable time (${took} ms)`);
  assert.notEqual((await sb.info(SICK))?.pid, first.pid, 'the remedy restarted the app');

  const plain = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(plain.code, 1, cliFailed('check (sick, plain)', plain));
  assert.match(plain.stdout, new RegExp(`^FAIL ${SICK}: .*204`, 'm'), 'the summary line says why');
});

test('check exits 2 on an invalid config or bad usage', T, async () => {
  const bad = writeRaw('apps:\n  - name: cs-app\n    helth: {}\n', 'bad.yaml', sb.home);
  const r = await runCli(['check', '--config', bad], env, 30_000);
  assert.equal(r.code, 2, cliFailed('check (invalid config)', r));
  assert.match(r.stderr, /invalid config/);
  assert.ok(r.stderr.includes(bad), 'names the file');
  assert.match(r.stderr, /apps\[0\]\.helth/);

  const missing = await runCli(['check', '--config', join(sb.home, 'no-such-file.yaml')], env, 30_000);
  assert.equal(missing.code, 2, cliFailed('check (missing config)', missing));

  const none = await runCli(['check'], env, 30_000);
  assert.equal(none.code, 2, cliFailed('check (no config at all)', none));
  assert.match(none.stderr, /no config file given/);

  const flag = await runCli(['check', '--config', okConfig(), '--frobnicate'], env, 30_000);
  assert.equal(flag.code, 2, cliFailed('check --frobnicate', flag));

  const unknownApp = await runCli(['check', '--config', okConfig(), '--app', 'nope'], env, 30_000);
  assert.equal(unknownApp.code, 2, cliFailed('check --app nope', unknownApp));
});

test('check exits 3, naming the holder pid, while `run` holds the lock', T, async () => {
  const config = okConfig();
  const run = startCli(['run', '--config', config], env, ledger);
  try {
    await run.waitForLine(/watching 1 app/, 30_000);
    const r = await runCli(['check', '--config', config], env, 60_000);
    assert.equal(r.code, 3, cliFailed('check while run holds the lock', r));
    assert.match(r.stderr, new RegExp(`holds the lock: \`run\` \\(pid ${run.child.pid}\\) on `), 'the message names the holder by role');
    const j = await runCli(['check', '--json', '--config', config], env, 60_000);
    assert.equal(j.code, 3, cliFailed('check --json while run holds the lock', j));
  } finally {
    run.child.kill('SIGTERM');
    const end = await run.exited;
    assert.equal(end.code, 0, `run exits 0 on SIGTERM (${JSON.stringify(end)})`);
  }
});

test('check and status with no PM2 daemon exit 1 and never spawn one', T, async () => {
  const home = freshDir(sb.home, 'no-daemon-home');
  mkdirSync(join(home, 'tmp'));
  const config = configIn(sb.home, { apps: [{ name: APP, health: { url: healthUrl(PORT_APP) }, ports: [PORT_APP] }] });
  const lonely = cliEnv({ ...sb.env, PM2_HOME: home, TMPDIR: join(home, 'tmp') });
  const r = await runCli(['check', '--config', config], lonely, 60_000);
  assert.equal(r.code, 1, cliFailed('check (no daemon)', r));
  assert.match(r.stderr, /no PM2 daemon answers/);
  const s = await runCli(['status', '--config', config], lonely, 60_000);
  assert.equal(s.code, 1, cliFailed('status (no daemon)', s));
  assert.match(s.stderr, /no PM2 daemon answers/);
  for (const f of ['pm2.pid', 'rpc.sock', 'pub.sock']) assert.equal(existsSync(join(home, f)), false, `no ${f} in the lonely home`);
  assert.deepEqual(pidsWithCommandLine(home), [], 'no process (a PM2 daemon titles itself with its home) runs for that home');
  assert.equal(existsSync(join(home, 'helpdesk-monitor', 'monitor.lock')), false, 'the lock was released');
});
