// What the operator and cron see (issue 12), with the real CLI against a sandbox daemon:
// `status` answers with an invalid config (PM2's table, the last state, the error on top, exit 2);
// `check` exit codes for an app stopped on purpose (0, STOP; --strict: 1) and a remedied app
// (0, "remedied"; --exit-remedied: 4), its human lines on stdout; and every `--json` document
// valid under its JSON Schema in schemas/, in one naming convention (snake_case, integer ms).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ProcessInfo } from '../../src/pm2/adapter.js';
import { createSandbox, healthUrl, injectFault, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { configIn, freshDir, sandboxCliEnv, startHealthy as startHealthyApp } from '../helpers/operator.js';
import { assertMatchesSchema } from '../helpers/schema.js';

const PORT_UP = 48100;
const PORT_STOPPED = 48101;
const PORT_FIXED = 48102;
const UP = 'oo-up';
const STOPPED = 'oo-stopped';
const FIXED = 'oo-fixed';
const T = { timeout: 120_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let stateDir: string;

const show = (what: string, r: CliResult): string => `${what}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

const startHealthy = (name: string, port: number): Promise<ProcessInfo> => startHealthyApp(sb, name, port);

const appEntry = (name: string, port: number) => ({
  name, health: { url: healthUrl(port), timeout: '1s', interval: '500ms', failure_threshold: 1 }, startup_grace: 0, ports: [port], verify_timeout: '15s',
});

function config(names: readonly [string, number][]): string {
  return configIn(sb.home, { state_dir: stateDir, apps: names.map(([n, p]) => appEntry(n, p)) });
}

before(async () => {
  sb = await createSandbox('operator-output');
  env = sandboxCliEnv(sb);
  stateDir = freshDir(sb.home, 'state');
  await startHealthy(UP, PORT_UP);
  await startHealthy(STOPPED, PORT_STOPPED);
  await startHealthy(FIXED, PORT_FIXED);
});
after(async () => {
  await sb.teardown();
});

test('status and check --dry-run: the JSON documents follow their schemas', T, async () => {
  const cfg = config([[UP, PORT_UP]]);
  const s = await runCli(['status', '--json', '--config', cfg], env, 60_000);
  assert.equal(s.code, 0, show('status --json', s));
  assertMatchesSchema('status', JSON.parse(s.stdout));
  const d = await runCli(['check', '--dry-run', '--json', '--config', cfg], env, 60_000);
  assert.equal(d.code, 0, show('check --dry-run --json', d));
  assertMatchesSchema('check-dry-run', JSON.parse(d.stdout));
});

test('check: an app stopped through PM2 is STOP and exit 0; --strict counts it (exit 1)', T, async () => {
  sb.pm2Cli(['stop', STOPPED]);
  await waitFor('stopped in PM2', async () => (await sb.info(STOPPED))?.status === 'stopped', 20_000);
  const cfg = config([[UP, PORT_UP], [STOPPED, PORT_STOPPED]]);
  const r = await runCli(['check', '--config', cfg], env, 90_000);
  assert.equal(r.code, 0, show('check with a stopped app', r));
  assert.match(r.stdout, new RegExp(`^STOP ${STOPPED}: stopped through PM2; left alone`, 'm'), 'the line says so, on stdout');
  assert.match(r.stdout, new RegExp(`^OK +${UP}: healthy$`, 'm'));
  assert.equal((await sb.info(STOPPED))?.status, 'stopped', 'left alone');

  const j = await runCli(['check', '--json', '--config', cfg], env, 90_000);
  assert.equal(j.code, 0, show('check --json with a stopped app', j));
  const doc = JSON.parse(j.stdout) as { healthy: boolean; stopped: string[]; apps: { name: string; result: string }[] };
  assertMatchesSchema('check', doc);
  assert.deepEqual(doc.stopped, [STOPPED]);
  assert.equal(doc.healthy, true);

  const strict = await runCli(['check', '--strict', '--config', cfg], env, 90_000);
  assert.equal(strict.code, 1, show('check --strict', strict));
  assert.match(strict.stdout, new RegExp(`^FAIL ${STOPPED}: stopped`, 'm'));
});

test('check: a remedied app is exit 0 with "remedied" on stdout; --exit-remedied makes it 4', T, async () => {
  const cfg = config([[FIXED, PORT_FIXED]]);
  await injectFault(PORT_FIXED, 'hang-health');
  const r = await runCli(['check', '--config', cfg], env, 90_000);
  assert.equal(r.code, 0, show('check remedying a hung /health', r));
  assert.match(r.stdout, new RegExp(`^OK +${FIXED}: remedied \\(.+\\); healthy again after \\S+$`, 'm'));
  assert.doesNotMatch(r.stdout, /starting remedy/, 'the log stays on stderr');
  assert.match(r.stderr, /starting remedy/, 'the log is on stderr');

  await injectFault(PORT_FIXED, 'hang-health');
  const j = await runCli(['check', '--json', '--exit-remedied', '--config', cfg], env, 90_000);
  assert.equal(j.code, 4, show('check --json --exit-remedied', j));
  const doc = JSON.parse(j.stdout) as { remedied: string[]; apps: { result: string; remedy?: { ok: boolean; duration_ms: number; time_to_healthy_ms?: number } }[] };
  assertMatchesSchema('check', doc);
  assert.deepEqual(doc.remedied, [FIXED]);
  assert.equal(doc.apps[0]?.result, 'remedied');
  assert.equal(doc.apps[0]?.remedy?.ok, true);
  assert.ok(Number.isInteger(doc.apps[0]?.remedy?.time_to_healthy_ms), 'time to healthy in integer ms');
});

test('restart --json follows its schema; the outcome line is on stdout', T, async () => {
  const cfg = config([[UP, PORT_UP]]);
  const j = await runCli(['restart', UP, '--json', '--config', cfg], env, 90_000);
  assert.equal(j.code, 0, show('restart --json', j));
  assertMatchesSchema('operation', JSON.parse(j.stdout));
  const r = await runCli(['restart', UP, '--config', cfg], env, 90_000);
  assert.equal(r.code, 0, show('restart', r));
  assert.match(r.stdout, new RegExp(`^OK +${UP}: healthy$`, 'm'));
});

test('status shows a pause from control.json at once, with no monitor running, and drops it at resume', T, async () => {
  const cfg = config([[UP, PORT_UP]]);
  assert.equal((await runCli(['pause', UP, '--for', '10m', '--config', cfg], env, 30_000)).code, 0);
  const paused = await runCli(['status', '--config', cfg], env, 60_000);
  assert.match(paused.stdout, new RegExp(`^${UP} .* PAUSED$`, 'm'), show('status while paused', paused));
  assert.match(paused.stdout, new RegExp(`^  ${UP}: remedies paused until \\d\\d:\\d\\d:\\d\\dZ$`, 'm'));
  assert.equal((await runCli(['resume', UP, '--config', cfg], env, 30_000)).code, 0);
  const resumed = await runCli(['status', '--config', cfg], env, 60_000);
  assert.doesNotMatch(resumed.stdout, /PAUSED|paused until/, show('status after resume', resumed));
});

test('status with an invalid config still prints PM2\'s table and the last state, the error on top, exit 2', T, async () => {
  // The last state comes from the state_dir the broken file names: write state there first.
  const good = config([[UP, PORT_UP]]);
  assert.equal((await runCli(['check', '--config', good], env, 90_000)).code, 0);
  const bad = join(freshDir(sb.home, 'bad'), 'monitor.yaml');
  writeFileSync(bad, `state_dir: ${stateDir}\napps:\n  - name: ${UP}\n    helth: {}\n`);

  const r = await runCli(['status', '--config', bad], env, 60_000);
  assert.equal(r.code, 2, show('status with an invalid config', r));
  assert.match(r.stderr, /invalid config .*monitor\.yaml/);
  assert.match(r.stderr, /apps\[0\]\.helth/);
  const row = r.stdout.split('\n').find((l) => l.startsWith(`${UP} `));
  assert.ok(row, `a row for ${UP}:\n${r.stdout}`);
  assert.match(row, /online/);
  assert.match(row, / healthy$/, 'the MONITOR column from the last saved state');
  assert.ok(r.stdout.includes(STOPPED), 'PM2-only apps are listed too');

  const j = await runCli(['status', '--json', '--config', bad], env, 60_000);
  assert.equal(j.code, 2, show('status --json with an invalid config', j));
  const doc = JSON.parse(j.stdout) as { config_error?: { file: string; issues: { path: string }[] }; apps: { name: string }[] };
  assertMatchesSchema('status', doc);
  assert.equal(doc.config_error?.file, bad);
  assert.deepEqual(doc.config_error?.issues.map((i) => i.path), ['apps[0].helth']);

  const missing = await runCli(['status', '--config', join(sb.home, 'nowhere.yaml')], env, 60_000);
  assert.equal(missing.code, 2, show('status with a missing config', missing));
  assert.match(missing.stderr, /no such file: .*nowhere\.yaml; create it or pass --config FILE/);
  assert.ok(missing.stdout.startsWith('APP '), `the table is printed:\n${missing.stdout}`);
});
