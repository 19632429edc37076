// The PM2 wrapper commands as an operator runs them: `helpdesk-monitor start|restart|reload|stop`,
// the real CLI as a child process against a sandbox daemon. A restart kills a stray holding the
// app's port (in its kill_scope), brings the app back and proves /health, printing every step with
// its duration; an unhealthy result exits 1 with the reason; bad usage exits 2.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ProcessInfo } from '../../src/pm2/adapter.js';
import { EXAMPLE_APP, ROOT, createSandbox, healthUrl, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli } from '../helpers/cli.js';
import { PidLedger, holdersOf, identify, isAlive } from '../helpers/holders.js';
import { configIn, freshDir, healthPid, sandboxCliEnv, spawnStray, stepLine, startHealthy as startHealthyApp } from '../helpers/operator.js';

const APP_CWD = join(ROOT, 'examples', 'helpdesk-backend');
const PORT_RESTART = 47600;
const PORT_FAIL = 47601;
const PORT_LIFE = 47602;
const PORT_ECO = 47603;
const PORT_SPARE = 47604; // a second configured port, never listened on
const T = { timeout: 90_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('wrapper');
  env = sandboxCliEnv(sb);
});
after(async () => {
  ledger.killAll();
  await sb.teardown();
});

/** Start an example app in the sandbox and wait until /health answers from the PM2 instance. */
const startHealthy = (name: string, port: number): Promise<ProcessInfo> => startHealthyApp(sb, name, port);

/** A config for one app: health URL, its ports, fast verification. */
function appConfig(name: string, port: number, health_: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  return configIn(sb.home, {
    state_dir: join(sb.home, 'state'),
    apps: [{ name, health: { url: healthUrl(port), timeout: '1s', interval: '500ms', ...health_ }, ports: [port, PORT_SPARE], kill_grace: '1s', verify_timeout: '20s', ...extra }],
  });
}

const cliFailed = (what: string, r: { code: number | null; stdout: string; stderr: string }): string => `${what}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

test('restart kills a stray holding the port, brings the app back healthy and shows each step with its duration', T, async () => {
  const name = 'wr-restart';
  const first = await startHealthy(name, PORT_RESTART);
  await sb.pm2.act('stop', first.pmId);
  await waitFor('the port free after pm2 stop', () => holdersOf(PORT_RESTART).length === 0, 15_000);
  const stray = await spawnStray(PORT_RESTART, APP_CWD, ledger);
  assert.deepEqual(holdersOf(PORT_RESTART).map((h) => h.pid), [stray.id.pid], 'only the stray holds the port before the restart');

  const r = await runCli(['restart', name, '--config', appConfig(name, PORT_RESTART)], env, 60_000);
  assert.equal(r.code, 0, cliFailed('restart', r));

  // The stray is dead (it exited on our SIGTERM) and the app serves /health from its PM2 pid.
  const end = await stray.ended;
  assert.equal(end.signal, 'SIGTERM', `the stray ended by SIGTERM (${JSON.stringify(end)})`);
  assert.equal(isAlive(stray.id), false, 'the stray is gone');
  const now = await sb.info(name);
  assert.equal(now?.status, 'online');
  assert.notEqual(now?.pid, stray.id.pid);
  assert.equal(await httpStatus(healthUrl(PORT_RESTART)), 200);
  assert.equal(await healthPid(PORT_RESTART), now?.pid, '/health answers from the PM2 instance');
  assert.deepEqual(holdersOf(PORT_RESTART).map((h) => h.pid), [now?.pid], 'only the app holds the port now');

  // Every step, in order, each with a duration.
  const steps = ['look up the app in PM2', 'stop through PM2', `free ports ${PORT_RESTART},${PORT_SPARE}`, 'start through PM2', `wait for online and ${healthUrl(PORT_RESTART)}`];
  let at = -1;
  for (const label of steps) {
    const s = stepLine(r.stderr, name, label);
    assert.ok(s, `a finished step "${label}" with a duration:\n${r.stderr}`);
    assert.ok(s.ok, `step "${label}" succeeded: ${s.detail}`);
    const pos = r.stderr.indexOf(`${name}: ${label} (`);
    assert.ok(pos > at, `step "${label}" comes after the previous one`);
    at = pos;
  }
  const freed = stepLine(r.stderr, name, `free ports ${PORT_RESTART},${PORT_SPARE}`);
  assert.match(freed?.detail ?? '', new RegExp(`killed pid ${stray.id.pid} .*on port ${PORT_RESTART}`), 'the free step names the killed stray');
  assert.equal(r.stdout, `OK   ${name}: healthy\n`, 'the outcome alone on stdout; the steps on stderr');
});

test('restart whose health check never passes exits 1 and prints the reason', T, async () => {
  const name = 'wr-fail';
  const first = await startHealthy(name, PORT_FAIL);
  // The app answers 200; the config expects 204, so verification can never succeed. The budget
  // leaves a loaded machine time to start the app: with 3 s the last probe of a slow cold start
  // timed out and the reason was a timeout, not the status.
  const config = appConfig(name, PORT_FAIL, { expect_status: 204 }, { verify_timeout: '8s' });
  const t0 = Date.now();
  const r = await runCli(['restart', name, '--config', config], env, 60_000);
  const took = Date.now() - t0;
  assert.equal(r.code, 1, cliFailed('restart', r));
  assert.match(r.stdout, new RegExp(`^FAIL ${name}: not healthy.*expected 204`, 'm'), 'the final line says why');
  const verify = stepLine(r.stderr, name, `wait for online and ${healthUrl(PORT_FAIL)}`);
  assert.ok(verify && !verify.ok, `the verify step failed with a duration:\n${r.stderr}`);
  assert.match(verify.detail, /HTTP 200, expected 204/);
  assert.ok(took < 30_000, `gave up after the 8 s verify_timeout (took ${took} ms)`);
  const now = await sb.info(name);
  assert.notEqual(now?.pid, first.pid, 'it did restart the app');

  // --timeout overrides the config's verify_timeout, and a 404 health path fails the same way.
  // (8 s, like above: the app must answer at all before the budget ends, also on a loaded machine.)
  const missing = configIn(sb.home, { apps: [{ name, health: { url: `http://127.0.0.1:${PORT_FAIL}/no-such-path` }, ports: [PORT_FAIL] }] });
  const r2 = await runCli(['restart', name, '--config', missing, '--timeout', '8s'], env, 60_000);
  assert.equal(r2.code, 1, cliFailed('restart with a 404 health path', r2));
  assert.match(r2.stderr, /not healthy within 8000 ms/);
  assert.match(r2.stderr, /HTTP 404/);
});

test('stop exits 0 with the app stopped and its ports free (a leftover in its scope is freed too)', T, async () => {
  const name = 'wr-life';
  const first = await startHealthy(name, PORT_LIFE);
  const firstId = identify(first.pid);
  assert.ok(firstId, 'the app process is there before the stop');
  const leftover = await spawnStray(PORT_SPARE, APP_CWD, ledger);
  const r = await runCli(['stop', name, '--config', appConfig(name, PORT_LIFE)], env, 60_000);
  assert.equal(r.code, 0, cliFailed('stop', r));
  const now = await sb.info(name);
  assert.equal(now?.status, 'stopped');
  assert.deepEqual(holdersOf(PORT_LIFE), [], 'nobody listens on the port');
  assert.deepEqual(holdersOf(PORT_SPARE), [], 'nobody listens on the second port');
  assert.equal((await leftover.ended).signal, 'SIGTERM', 'the leftover was ended');
  assert.equal(await httpStatus(healthUrl(PORT_LIFE)), 0, 'connection refused');
  const confirm = stepLine(r.stderr, name, `confirm ports ${PORT_LIFE},${PORT_SPARE} are free`);
  assert.ok(confirm?.ok, r.stderr);
  assert.match(confirm.detail, new RegExp(`killed pid ${leftover.id.pid} .*on port ${PORT_SPARE}`));
  assert.match(r.stdout, new RegExp(`^OK +${name}: stopped, ports free$`, 'm'));
  await waitFor('the app process gone', () => !isAlive(firstId), 10_000);
});

test('start of a stopped app exits 0 once it is healthy', T, async () => {
  const name = 'wr-life';
  const before_ = await sb.info(name);
  if (before_?.status !== 'stopped') {
    await sb.pm2.act('stop', before_?.pmId ?? 0);
  }
  await waitFor('wr-life stopped', async () => (await sb.info(name))?.status === 'stopped');
  const r = await runCli(['start', name, '--config', appConfig(name, PORT_LIFE)], env, 60_000);
  assert.equal(r.code, 0, cliFailed('start', r));
  const now = await sb.info(name);
  assert.equal(now?.status, 'online');
  assert.equal(await healthPid(PORT_LIFE), now?.pid, '/health answers from the started instance');
  assert.ok(stepLine(r.stderr, name, 'start through PM2')?.ok, r.stderr);
  assert.match(r.stdout, new RegExp(`^OK +${name}: healthy$`, 'm'));
});

test('start of an app that is already online leaves it running (same pid) and exits 0', T, async () => {
  const name = 'wr-life';
  const first = await waitFor('wr-life online', async () => ((await healthPid(PORT_LIFE)) > 0 ? sb.info(name) : undefined));
  const r = await runCli(['start', name, '--config', appConfig(name, PORT_LIFE)], env, 60_000);
  assert.equal(r.code, 0, cliFailed('start', r));
  assert.equal((await sb.info(name))?.pid, first.pid, 'the live instance was spared');
  assert.equal(await healthPid(PORT_LIFE), first.pid);
});

test('reload exits 0 with a new, healthy instance, after freeing a stray from its other port', T, async () => {
  const name = 'wr-life';
  const first = await waitFor('wr-life online', async () => ((await healthPid(PORT_LIFE)) > 0 ? sb.info(name) : undefined));
  const stray = await spawnStray(PORT_SPARE, APP_CWD, ledger);
  const r = await runCli(['reload', name, '--config', appConfig(name, PORT_LIFE)], env, 60_000);
  assert.equal(r.code, 0, cliFailed('reload', r));
  assert.equal((await stray.ended).signal, 'SIGTERM', 'the stray was ended');
  assert.match(stepLine(r.stderr, name, `free ports ${PORT_LIFE},${PORT_SPARE}`)?.detail ?? '', new RegExp(`killed pid ${stray.id.pid} `), r.stderr);
  assert.doesNotMatch(r.stderr, new RegExp(`killed pid ${first.pid} `), 'the live instance was spared by the port step');
  const now = await sb.info(name);
  assert.equal(now?.status, 'online');
  assert.notEqual(now?.pid, first.pid, 'PM2 reloaded the app (fork mode: a new process)');
  assert.equal(await healthPid(PORT_LIFE), now?.pid);
  assert.ok(stepLine(r.stderr, name, 'reload through PM2')?.ok, r.stderr);
});

test('--json prints one parseable document on stdout and no steps', T, async () => {
  const name = 'wr-life';
  const r = await runCli(['restart', name, '--config', appConfig(name, PORT_LIFE), '--json'], env, 60_000);
  assert.equal(r.code, 0, cliFailed('restart --json', r));
  const doc = JSON.parse(r.stdout) as { operation: string; target: string; ok: boolean; results: { app: string; ok: boolean; detail: string; ports?: { free: boolean; killed: unknown[] } }[] };
  assert.equal(doc.operation, 'restart');
  assert.equal(doc.target, name);
  assert.equal(doc.ok, true);
  assert.equal(doc.results.length, 1);
  assert.equal(doc.results[0]?.app, name);
  assert.equal(doc.results[0]?.ok, true);
  assert.equal(doc.results[0]?.detail, 'healthy');
  assert.equal(doc.results[0]?.ports?.free, true);
  assert.doesNotMatch(r.stderr, /[✔✘…]/, 'no step lines with --json');

  // A failure is a document too, with ok false and exit 1. (A budget in which a loaded machine
  // starts the app: with 2 s the last probe timed out and the reason was not the status.)
  const bad = await runCli(['restart', name, '--config', appConfig(name, PORT_LIFE, { expect_status: 204 }), '--timeout', '8s', '--json'], env, 60_000);
  assert.equal(bad.code, 1, cliFailed('failing restart --json', bad));
  const badDoc = JSON.parse(bad.stdout) as { ok: boolean; results: { ok: boolean; detail: string }[] };
  assert.equal(badDoc.ok, false);
  assert.match(badDoc.results[0]?.detail ?? '', /expected 204/);
});

test('start of an ecosystem file starts its app under PM2 and verifies the monitor: block', T, async () => {
  const dir = freshDir(sb.home, 'eco');
  const file = join(dir, 'ecosystem.config.cjs');
  const name = 'wr-eco';
  writeFileSync(
    file,
    `module.exports = {
  apps: [{
    name: ${JSON.stringify(name)},
    script: ${JSON.stringify(EXAMPLE_APP)},
    cwd: ${JSON.stringify(APP_CWD)},
    env: { PORT: '${PORT_ECO}', FAULTS: '1' },
    monitor: { health: { url: 'http://127.0.0.1:${PORT_ECO}/health', timeout: '1s' }, verify_timeout: '20s' },
  }],
};
`,
  );
  assert.equal(await sb.info(name), undefined, 'not known to PM2 before');
  const r = await runCli(['start', file], env, 60_000);
  assert.equal(r.code, 0, cliFailed('start ecosystem', r));
  const now = await sb.info(name);
  assert.equal(now?.status, 'online');
  assert.equal(await healthPid(PORT_ECO), now?.pid, '/health answers from the started app');
  assert.match(r.stderr, new RegExp(`✔ pm2 start ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d`), r.stderr);
  assert.match(r.stderr, new RegExp(`✔ ${name}: wait for online and http://127.0.0.1:${PORT_ECO}/health \\(\\d`), r.stderr);
  assert.match(r.stdout, new RegExp(`^OK +${name}: healthy$`, 'm'));
});

test('an app PM2 does not know: exit 1 with the reason', T, async () => {
  const r = await runCli(['restart', 'wr-no-such-app'], env, 60_000);
  assert.equal(r.code, 1, cliFailed('restart unknown', r));
  assert.match(r.stderr, /no PM2 app named "wr-no-such-app"/);
});

test('bad usage exits 2 and points at --help', T, async () => {
  const cases: readonly (readonly string[])[] = [
    ['restart'],
    ['start'],
    ['stop', 'a', 'b'],
    ['restart', 'wr-life', '--bogus'],
    ['reload', 'wr-life', '--timeout', 'soon'],
  ];
  for (const args of cases) {
    const r = await runCli(args, env, 30_000);
    assert.equal(r.code, 2, cliFailed(args.join(' '), r));
    assert.match(r.stderr, /helpdesk-monitor: /, `a message for ${args.join(' ')}`);
    assert.match(r.stderr, /--help/, `points at --help for ${args.join(' ')}`);
  }
  // Usage errors change nothing in PM2.
  assert.equal((await sb.info('wr-life'))?.status, 'online');
});

test('--help of each wrapper command exits 0 with an example', T, async () => {
  for (const op of ['start', 'restart', 'reload', 'stop']) {
    const r = await runCli([op, '--help'], env, 30_000);
    assert.equal(r.code, 0, cliFailed(`${op} --help`, r));
    assert.match(r.stdout, new RegExp(`^Usage: helpdesk-monitor ${op} `));
    assert.match(r.stdout, /Example/);
    assert.match(r.stdout, new RegExp(`helpdesk-monitor ${op} helpdesk-backend`));
  }
});
