// `status` and `check` judge health the same way, through the engine: an app that only its exec
// probe finds failing (HTTP says 200) is unhealthy in both, and an app on the process strategy
// (outside PM2) is healthy in both, not "missing". `check --dry-run` prints the same verdict and
// acts on nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { PidLedger, isAlive, type ProcIdentity } from '../helpers/holders.js';
import { configIn, freshDir, sandboxCliEnv } from '../helpers/operator.js';
import { createSandbox, healthUrl, exampleApp, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';

const PORT_EXEC = 47930; // a PM2 app whose HTTP is fine and whose exec probe fails
const PORT_PROC = 47931; // an app outside PM2, run as a plain process
const EXEC_APP = 'ag-exec';
const PROC_APP = 'ag-proc';
const T = { timeout: 120_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let config: string;
let proc: ProcIdentity | undefined;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('agreement');
  env = sandboxCliEnv(sb);
  await sb.start(exampleApp(EXEC_APP, PORT_EXEC));
  await waitFor('the PM2 app answers', async () => (await httpStatus(healthUrl(PORT_EXEC))) === 200, 30_000);
  // The process-strategy app: a tiny HTTP server started by us, found by its pattern.
  const dir = freshDir(sb.home, 'proc-app');
  mkdirSync(dir, { recursive: true });
  const script = join(dir, 'ag-proc-server.cjs');
  writeFileSync(script, `require('node:http').createServer((q, s) => s.end('ok')).listen(${PORT_PROC}, '127.0.0.1');\n`);
  const child = spawn(process.execPath, [script], { cwd: dir, stdio: 'ignore' });
  proc = ledger.add(child.pid ?? 0);
  assert.ok(proc, 'the process app started');
  await waitFor('the process app answers', async () => (await httpStatus(healthUrl(PORT_PROC))) === 200, 10_000);
  config = configIn(sb.home, {
    state_dir: freshDir(sb.home, 'state'),
    apps: [
      {
        name: EXEC_APP, startup_grace: 0, verify_timeout: '3s', max_restart_failures: 1,
        health: { url: healthUrl(PORT_EXEC), interval: '300ms', timeout: '1s', failure_threshold: 1 },
        health_check_command: 'echo "queue stuck" >&2; exit 1', health_check_timeout: '2s',
      },
      {
        name: PROC_APP, restart_strategy: 'process', startup_grace: 0,
        process: { command: `${process.execPath} ${script}`, pattern: 'ag-proc-server.cjs', cwd: dir },
        health: { url: healthUrl(PORT_PROC), interval: '300ms', timeout: '1s', failure_threshold: 1 },
      },
    ],
  });
});
after(async () => {
  ledger.killAll();
  await sb.teardown();
});

interface StatusApp { name: string; healthy: boolean; reason?: string; strategy: string; pm2: { status: string }; health?: { ok: boolean }; probes?: { kind: string; ok: boolean; detail?: string }[] }
interface CheckApp { name: string; healthy: boolean; phase: string; reason?: string; would_remedy?: boolean }

const show = (r: { code: number | null; stdout: string; stderr: string }): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

test('an app only its exec probe finds failing: status, check --dry-run and check all say unhealthy', T, async () => {
  const status = await runCli(['status', '--json', '--config', config, EXEC_APP], env, 60_000);
  assert.equal(status.code, 1, show(status));
  const s = (JSON.parse(status.stdout) as { apps: StatusApp[] }).apps[0]!;
  assert.equal(s.health?.ok, true, 'HTTP alone says 200');
  assert.equal(s.healthy, false, 'but the exec probe fails');
  assert.match(s.reason ?? '', /health_check_command/);
  assert.equal(s.probes?.find((p) => p.kind === 'exec')?.ok, false);

  const dry = await runCli(['check', '--dry-run', '--json', '--config', config, '--app', EXEC_APP], env, 60_000);
  assert.equal(dry.code, 1, show(dry));
  const d = (JSON.parse(dry.stdout) as { apps: CheckApp[] }).apps[0]!;
  assert.equal(d.healthy, false);
  assert.equal(d.would_remedy, true, 'failure_threshold 1: a check would remedy it');
  assert.equal(d.reason, s.reason, 'the same verdict, word for word');
  const pidBefore = (await sb.info(EXEC_APP))?.pid;
  assert.equal((await sb.info(EXEC_APP))?.restarts, 0, 'the dry run restarted nothing');

  const check = await runCli(['check', '--json', '--config', config, '--app', EXEC_APP], env, 90_000);
  assert.equal(check.code, 1, show(check));
  const c = (JSON.parse(check.stdout) as { apps: CheckApp[] }).apps[0]!;
  assert.equal(c.healthy, false);
  assert.match(c.reason ?? '', /health_check_command/);
  assert.ok(pidBefore, 'the app ran before the check');
});

test('an app on the process strategy: status and check both say healthy (not missing from PM2)', T, async () => {
  const status = await runCli(['status', '--json', '--config', config, PROC_APP], env, 60_000);
  assert.equal(status.code, 0, show(status));
  const s = (JSON.parse(status.stdout) as { apps: StatusApp[] }).apps[0]!;
  assert.equal(s.strategy, 'process');
  assert.equal(s.healthy, true, show(status));
  assert.equal(s.pm2.status, 'online', 'the process strategy says it runs');

  const dry = await runCli(['check', '--dry-run', '--config', config, '--app', PROC_APP], env, 60_000);
  assert.equal(dry.code, 0, show(dry));
  assert.match(dry.stdout, new RegExp(`^OK +${PROC_APP}: healthy`, 'm'));

  const check = await runCli(['check', '--json', '--config', config, '--app', PROC_APP], env, 60_000);
  assert.equal(check.code, 0, show(check));
  assert.equal((JSON.parse(check.stdout) as { apps: CheckApp[] }).apps[0]!.healthy, true);
  assert.ok(proc && isAlive(proc), 'the healthy process app was left alone');
});
