// The daemon watchdog against a real PM2 daemon: SIGKILLed, it is brought back by `check` (once,
// however many checks start at once) with its apps and its modules; `resurrect: never` says so
// and exits 1; an empty dump.pm2 written after a good one is not used; a SIGSTOPped daemon is
// reported, never doubled, and killed only when kill_hung_daemon says so; `run` brings a dead
// daemon back and tells one story; a clean `pm2 kill` is left alone.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startCli } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';
import { configIn, sandboxCliEnv, startHealthy, stopRun } from '../helpers/operator.js';
import { bodiesAt, startReceiver, type Receiver } from '../helpers/receiver.js';
import { createSandbox, healthUrl, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { readDaemonPid } from '../../src/pm2/adapter.js';
import { findGods } from '../../src/supervisor/god.js';

const PORT = 48000;
const HOOK_PORT = 48001;
let sb: Sandbox;
let receiver: Receiver;
const ledger = new PidLedger();

const config = (supervisor: Record<string, unknown> = {}): string => configIn(sb.home, {
  ...(Object.keys(supervisor).length > 0 ? { supervisor } : {}),
  notify: [{ url: receiver.url('/hook'), format: 'json' }],
  apps: [{ name: 'hd', health: { url: healthUrl(PORT), interval: '1s', timeout: '1s', failure_threshold: 2 }, startup_grace: '2s', ports: [PORT] }],
});

/** SIGKILL the daemon (as the OOM killer would) and wait until no daemon of this home is alive. */
async function killDaemon(): Promise<number> {
  const pid = readDaemonPid(sb.home)!;
  process.kill(pid, 'SIGKILL');
  await waitFor('daemon gone', () => findGods(sb.home).length === 0, 10_000);
  return pid;
}

const appHealthy = (): Promise<boolean> => httpStatus(healthUrl(PORT)).then((s) => s === 200);

before(async () => {
  sb = await createSandbox('daemon');
  receiver = await startReceiver(HOOK_PORT);
  // A module, so "the module is back" can be seen: PM2 relaunches installed modules itself.
  const mod = join(sb.home, 'stub', 'hdm-stub-module');
  mkdirSync(mod, { recursive: true });
  writeFileSync(join(mod, 'package.json'), JSON.stringify({ name: 'hdm-stub-module', version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(mod, 'index.js'), 'setInterval(() => {}, 60000);\n');
  sb.pm2Cli(['install', `file://${mod}`]);
  await startHealthy(sb, 'hd', PORT);
  sb.pm2Cli(['save']);
});
after(async () => {
  for (const g of findGods(sb.home)) if (g.state === 'stopped') process.kill(g.pid, 'SIGCONT');
  ledger.killAll();
  await receiver.close();
  // The sandbox's own PM2 client retries a dead daemon forever (and PM2's disconnect does not stop
  // it): give it one to close against, as the teardown expects.
  if (findGods(sb.home).length === 0) sb.pm2Cli(['ping']);
  await waitFor('the sandbox client reconnected', async () => (await sb.list().then(() => true, () => false)) || undefined, 20_000);
  await sb.teardown();
});

test('a SIGKILLed daemon: 10 checks at once bring the apps and the module back, with one daemon', { timeout: 120_000 }, async () => {
  const cfg = config();
  const old = await killDaemon();
  await waitFor('the app dies with its daemon', async () => !(await appHealthy()), 10_000);
  const runs = await Promise.all(Array.from({ length: 10 }, () => runCli(['check', '--config', cfg], sandboxCliEnv(sb), 90_000)));
  const codes = runs.map((r) => r.code).sort();
  const odd = runs.filter((r) => r.code !== 0 && r.code !== 3);
  assert.deepEqual(odd.map((r) => r.code), [], `every check exits 0 or 3 (lock held): ${codes.join(',')}\n${odd.map((r) => r.stderr).join('\n---\n')}`);
  const winner = runs.filter((r) => r.code === 0);
  assert.ok(winner.length >= 1, `one check did the work: ${codes.join(',')}`);
  const gods = findGods(sb.home);
  assert.equal(gods.length, 1, `exactly one daemon: ${JSON.stringify(gods)}`);
  assert.notEqual(gods[0]!.pid, old);
  const told = runs.map((r) => r.stderr).join('\n');
  assert.equal(told.match(/resurrecting 1 app from dump\.pm2/g)?.length, 1, told);
  assert.match(told, /PM2 daemon was down; resurrected from dump\.pm2 with 1 app in \d+ ms; healthy: hd; modules: hdm-stub-module online/);
  assert.equal(await appHealthy(), true);
  const mod = (await sb.list()).find((p) => p.name === 'hdm-stub-module');
  assert.equal(mod?.status, 'online', 'the module is back');
  // One story, one notification.
  await waitFor('the notification', () => bodiesAt(receiver, '/hook').some((b) => (b as { event?: string }).event === 'daemon_resurrected'), 10_000);
  const stories = bodiesAt(receiver, '/hook').filter((b) => (b as { event?: string }).event === 'daemon_resurrected');
  assert.equal(stories.length, 1);
  assert.match((stories[0] as { detail: string }).detail, /healthy: hd/);
  // The good dump was copied for later.
  assert.ok(readFileSync(join(sb.home, 'helpdesk-monitor', 'dump.pm2.good'), 'utf8').includes('"hd"'));
});

test('resurrect: never exits 1 and says so; no daemon is started', { timeout: 60_000 }, async () => {
  await killDaemon();
  const r = await runCli(['check', '--config', config({ resurrect: 'never' })], sandboxCliEnv(sb), 30_000);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /supervisor\.resurrect is never/);
  assert.equal(findGods(sb.home).length, 0);
});

test('an empty dump.pm2 written after a good one: the kept copy is used, and the log says so', { timeout: 60_000 }, async () => {
  // The daemon is down since the last test; its dump is emptied (as after an OOM during `pm2 save`).
  writeFileSync(join(sb.home, 'dump.pm2'), '[]');
  const r = await runCli(['check', '--config', config()], sandboxCliEnv(sb), 60_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /dump\.pm2 is not usable: it lists no app: resurrecting from the kept copy \(.*dump\.pm2\.good, 1 app: hd\), put back as dump\.pm2/);
  assert.equal(await appHealthy(), true);
  assert.ok(readFileSync(join(sb.home, 'dump.pm2'), 'utf8').includes('"hd"'), 'the good list is back in place');
});

test('a SIGSTOPped daemon: reported by pid, never doubled; killed and resurrected only with kill_hung_daemon', { timeout: 90_000 }, async () => {
  const hung = readDaemonPid(sb.home)!;
  process.kill(hung, 'SIGSTOP');
  try {
    const r = await runCli(['check', '--config', config({ ping_timeout: '500ms' })], sandboxCliEnv(sb), 60_000);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`the PM2 daemon \\(pid ${hung}\\) is stopped .*not starting another beside it`));
    assert.deepEqual(findGods(sb.home).map((g) => g.pid), [hung], 'no second daemon');
    const killed = await runCli(['check', '--config', config({ ping_timeout: '500ms', kill_hung_daemon: true })], sandboxCliEnv(sb), 60_000);
    assert.equal(killed.code, 0, killed.stderr);
    assert.match(killed.stderr, new RegExp(`killed the hung PM2 daemon \\(pid ${hung}`));
    // The one kill of a daemon is in the kill log like every other signal, with the rule that allowed it.
    const kills = readFileSync(join(sb.home, 'helpdesk-monitor', 'kills.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { pid: number; outcome: string; rule: string; signal: string });
    assert.deepEqual(kills.filter((k) => k.pid === hung).map((k) => [k.outcome, k.rule, k.signal]), [['sent', 'hung-daemon', 'SIGKILL']]);
    const gods = findGods(sb.home);
    assert.equal(gods.length, 1);
    assert.notEqual(gods[0]!.pid, hung);
    assert.equal(await appHealthy(), true);
  } finally {
    try {
      process.kill(hung, 'SIGCONT');
    } catch {
      // killed, as it should be
    }
  }
});

test('run brings a SIGKILLed daemon back and tells one story; a clean `pm2 kill` is left alone', { timeout: 120_000 }, async () => {
  const before = bodiesAt(receiver, '/hook').length;
  const run = startCli(['run', '--config', config()], sandboxCliEnv(sb), ledger);
  try {
    await run.waitForLine(/watching 1 app\(s\): hd/, 30_000);
    await killDaemon();
    await run.waitForLine(/PM2 daemon was down; resurrected from dump\.pm2 .*healthy: hd/, 60_000);
    assert.equal(findGods(sb.home).length, 1);
    assert.equal(await appHealthy(), true);
    await waitFor('one notification', () => bodiesAt(receiver, '/hook').slice(before).some((b) => (b as { event?: string }).event === 'daemon_resurrected'), 10_000);
    sb.pm2Cli(['kill']);
    await run.waitForLine(/it was stopped cleanly \(`pm2 kill`/, 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(findGods(sb.home).length, 0, 'an operator\'s pm2 kill is not undone');
    const events = bodiesAt(receiver, '/hook').slice(before).map((b) => (b as { event?: string }).event);
    assert.deepEqual(events.filter((e) => e?.startsWith('daemon_')), ['daemon_resurrected'], 'one story; a clean stop is not alerted');
  } finally {
    await stopRun(run);
  }
});
