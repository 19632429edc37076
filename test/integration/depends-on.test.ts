// depends_on against a real PM2: api depends on db and both hang (SIGSTOP). db is remedied first;
// api is never remedied while db is unhealthy or being remedied (its failures count, its remedy
// waits, the view says why); once db is healthy api is checked at once and remedied once if it is
// still hung, not at all if it recovered by itself. The one-pass `check` does the same in order.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { createSandbox, healthUrl, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startRulesApp } from '../helpers/rules-app.js';
import { runCli } from '../helpers/cli.js';
import { configIn, freshDir, sandboxCliEnv } from '../helpers/operator.js';
import { startTestMonitor, type TestMonitor } from '../helpers/monitor.js';

const INTERVAL_MS = 500;
let sb: Sandbox;
const frozen = new Set<number>();

before(async () => {
  sb = await createSandbox('depends');
});
afterEach(() => {
  for (const pid of frozen) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone
    }
  }
  frozen.clear();
});
after(async () => {
  await sb.teardown();
});

const startApp = (name: string, port: number): Promise<number> => startRulesApp(sb, name, port, { kill_timeout: 1000 });

function freeze(pid: number): void {
  process.kill(pid, 'SIGSTOP');
  frozen.add(pid);
}

const app = (name: string, port: number, extra: Record<string, unknown> = {}) => ({
  name, health: { url: healthUrl(port), interval: `${INTERVAL_MS}ms`, timeout: '300ms', failure_threshold: 2 }, startup_grace: 0, verify_timeout: '15s', ...extra,
});

/** Poll the views: every time api is seen remedying, db must be healthy. */
function watchOrder(monitor: TestMonitor): { readonly violations: string[]; readonly waits: string[]; stop(): void } {
  const violations: string[] = [];
  const waits: string[] = [];
  const timer = setInterval(() => {
    const views = monitor.engine.views();
    const api = views.find((v) => v.app === 'api');
    const db = views.find((v) => v.app === 'db');
    if (api?.state.phase === 'remedying' && db?.state.phase !== 'healthy') violations.push(`api remedying while db is ${db?.state.phase}`);
    if (api?.waitingFor && waits.at(-1) !== api.waitingFor) waits.push(api.waitingFor);
  }, 5);
  return { violations, waits, stop: () => clearInterval(timer) };
}

test('both hung: db is remedied first, api waits, then is remedied once', async () => {
  const db = await startApp('db', 48821);
  const api = await startApp('api', 48822);
  const monitor = startTestMonitor(sb, { apps: [app('db', 48821), app('api', 48822, { depends_on: ['db'] })] });
  const order = watchOrder(monitor);
  try {
    await waitFor('both healthy', () => monitor.engine.views().every((v) => v.state.phase === 'healthy'), 15_000);
    freeze(api);
    freeze(db);
    await waitFor('two remedies', () => monitor.remedies.length === 2, 60_000);
    assert.deepEqual(monitor.remedies.map((r) => r.app), ['db', 'api'], 'db first, then api');
    assert.ok(monitor.remedies.every((r) => r.ok), 'both verified healthy');
    assert.deepEqual(order.violations, [], 'api was never remedied while db was not healthy');
    assert.ok(order.waits.some((w) => /^db, which is (being remedied|unhealthy)/.test(w)), `the view said why api waited: ${order.waits.join(' | ')}`);
    assert.ok(monitor.lines.some((l) => l.includes('[api] remedy held: depends on db, which')), 'the log says why');
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 6));
    assert.equal(monitor.remedies.length, 2, 'one remedy each');
  } finally {
    order.stop();
    await monitor.stop();
  }
});

test('api recovers by itself while db is remedied: api is not remedied at all', async () => {
  const db = (await sb.info('db'))!.pid;
  const api = (await sb.info('api'))!.pid;
  const monitor = startTestMonitor(sb, { apps: [app('db', 48821, { pre_restart_command: 'sleep 2' }), app('api', 48822, { depends_on: ['db'] })] });
  const order = watchOrder(monitor);
  try {
    await waitFor('both healthy', () => monitor.engine.views().every((v) => v.state.phase === 'healthy'), 15_000);
    freeze(api);
    freeze(db);
    // api's remedy is held (db failing or being remedied; db's pre_restart_command keeps it busy 2 s).
    await waitFor('api waits for db', () => monitor.engine.views().find((v) => v.app === 'api')?.waitingFor !== undefined, 20_000);
    process.kill(api, 'SIGCONT');
    frozen.delete(api);
    await waitFor('db remedied', () => monitor.remedies.length >= 1, 60_000);
    await waitFor('api healthy again', () => monitor.engine.views().find((v) => v.app === 'api')?.state.phase === 'healthy', 15_000);
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 6));
    assert.deepEqual(monitor.remedies.map((r) => r.app), ['db'], 'only db was remedied');
    assert.equal((await sb.info('api'))?.pid, api, 'api still runs the same instance');
    assert.deepEqual(order.violations, []);
  } finally {
    order.stop();
    await monitor.stop();
  }
});

test('one `check` (the timer\'s pass), both hung: db is remedied, then api, in that order', async () => {
  // The apps of the tests above (started here when this test runs alone).
  const running = async (name: string, port: number) => (await sb.info(name)) ?? (await startApp(name, port), (await sb.info(name))!);
  const db = await running('db', 48821);
  const api = await running('api', 48822);
  await waitFor('both answer', async () => (await Promise.all([48821, 48822].map((p) => fetch(healthUrl(p), { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false)))).every(Boolean), 15_000);
  const config = configIn(sb.home, { state_dir: freshDir(sb.home, 'state'), apps: [app('db', 48821), app('api', 48822, { depends_on: 'db' })] });
  freeze(api.pid);
  freeze(db.pid);
  const r = await runCli(['check', '--config', config], sandboxCliEnv(sb), 120_000);
  assert.equal(r.code, 0, `check heals both:\n${r.stdout}\n${r.stderr}`);
  const dbNow = (await sb.info('db'))!;
  const apiNow = (await sb.info('api'))!;
  assert.ok(dbNow.pid !== db.pid && apiNow.pid !== api.pid, 'both run new instances');
  assert.ok(dbNow.startedAt < apiNow.startedAt, `db was started first (db ${dbNow.startedAt}, api ${apiNow.startedAt})`);
});
