// The restart strategies against real processes (loopback only, ports 47700-47719) and against a
// recording stand-in for systemctl (no systemd runs on the test machines). Every process the tests
// start is tracked by identity (pid + start time) and only those are killed in teardown.
import assert from 'node:assert/strict';
import { spawn, type SpawnOptions } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { recordingReporter } from '../../src/steps/steps.js';
import { procFacts } from '../../src/proc/read.js';
import { descendants } from '../../src/proc/tree.js';
import { findProcessInstances, isProcessRunning, restartProcess, type ProcessStrategyResult } from '../../src/strategies/process.js';
import { restartService, serviceExists } from '../../src/strategies/service.js';
import type { ProcessSpec } from '../../src/strategies/types.js';
import { PidLedger, holdersOf, identify, isAlive, killIdentified, nobodyIds, type ProcIdentity } from '../helpers/holders.js';
import { waitFor } from '../helpers/sandbox.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const STUB = join(ROOT, 'test', 'fixtures', 'systemctl-stub.sh');
const PATTERN = 'hm-strategy-server';
const SERVER = `${PATTERN}.cjs`;
const SERVER_CODE = `
const http = require('http');
const port = Number(process.argv[2]);
if (process.argv[3] === 'ignore-term') process.on('SIGTERM', () => console.log('SIGTERM ignored'));
else process.on('SIGTERM', () => { console.log('SIGTERM: bye'); process.exit(0); });
http.createServer((req, res) => res.end(String(process.pid))).listen(port, '127.0.0.1', () => console.log('listening on ' + port + ' as pid ' + process.pid));
`;

const ledger = new PidLedger();
let tmp: string;
let appDir: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'hm-strategies-'));
  appDir = join(tmp, 'app');
  mkdirSync(appDir);
  writeFileSync(join(appDir, SERVER), SERVER_CODE);
  // `nobody` must be able to enter the app directory (a stranger run there by another user)
  chmodSync(tmp, 0o755);
  chmodSync(appDir, 0o755);
});
after(() => {
  ledger.killAll();
  rmSync(tmp, { recursive: true, force: true });
});

/** GET / on loopback: the serving pid, or undefined. */
function servedBy(port: number): Promise<number | undefined> {
  return new Promise((done) => {
    const req = get({ host: '127.0.0.1', port, path: '/', timeout: 500 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done(Number(body) || undefined));
    });
    req.on('error', () => done(undefined));
    req.on('timeout', () => req.destroy());
  });
}

function spec(port: number, patch: Partial<ProcessSpec> = {}): ProcessSpec {
  return {
    appName: `app-${port}`,
    command: `"${process.execPath}" ${SERVER} ${port}`,
    cwd: appDir,
    pidfile: join(tmp, 'run', `app-${port}.pid`),
    pattern: `${PATTERN}.cjs ${port}`,
    logFile: join(tmp, 'logs', `app-${port}`, 'out.log'),
    stopGraceMs: 1000,
    ports: [port],
    killScope: 'app',
    killGraceMs: 500,
    ...patch,
  };
}

/** Run the strategy; track the started pid and its descendants. */
async function restart(s: ProcessSpec): Promise<{ result: ProcessStrategyResult; steps: { step: string; ok: boolean; detail: string }[] }> {
  const reporter = recordingReporter(systemClock);
  const result = await restartProcess(s, { clock: systemClock, reporter });
  if (result.pid !== undefined) {
    ledger.add(result.pid);
    for (const d of descendants([result.pid])) ledger.add(d);
  }
  return { result, steps: reporter.steps };
}

/** Spawn a helper process of our own, tracked; resolves once it runs. */
function spawnTracked(args: string[], options: SpawnOptions): ProcIdentity {
  const child = spawn(process.execPath, args, { detached: true, stdio: 'ignore', ...options });
  child.unref();
  if (!child.pid) throw new Error('spawn failed');
  const id = ledger.add(child.pid);
  if (!id) throw new Error(`pid ${child.pid} died at once`);
  return id;
}

/** A process whose command line contains the pattern, listening nowhere. */
function spawnPatternStranger(port: number, options: SpawnOptions): ProcIdentity {
  // extra argv after `-e CODE` shows in /proc cmdline: the stranger "looks like" the app
  return spawnTracked(['-e', 'setInterval(() => {}, 60000)', `${PATTERN}.cjs`, String(port)], options);
}

function pidfilePid(s: ProcessSpec): number {
  return Number(readFileSync(s.pidfile!, 'utf8').trim());
}

/** The started pid, and its children when the shell did not exec (dash keeps `sh -c CMD` as a parent). */
function family(pid: number): number[] {
  return [pid, ...descendants([pid])].sort((a, b) => a - b);
}

/** Wait until `pid` or one of its descendants serves the port; the serving pid (tracked). */
async function waitServed(port: number, pid: number): Promise<number> {
  const by = await waitFor(`pid ${pid} (or its child) serving port ${port}`, async () => {
    const served = await servedBy(port);
    return served !== undefined && family(pid).includes(served) ? served : undefined;
  }, 10_000, 20);
  ledger.add(by);
  return by;
}

function isDead(id: ProcIdentity): boolean {
  return !isAlive(id);
}

describe('process strategy', () => {
  test('restart starts, then replaces the running instance: old pid dead, new one serving, pidfile and log updated', async () => {
    const port = 47700;
    // `exec`: the shell becomes node, so the pidfile names the server itself
    const s = spec(port, { command: `exec "${process.execPath}" ${SERVER} ${port}` });
    assert.equal(isProcessRunning(s), false);

    // no pidfile, nothing running: just start
    const first = await restart(s);
    assert.ok(first.result.ok, first.result.detail);
    const pid1 = first.result.pid!;
    assert.equal(pidfilePid(s), pid1);
    assert.equal(await waitServed(port, pid1), pid1);
    assert.deepEqual(findProcessInstances(s), [pid1]);
    assert.equal(isProcessRunning(s), true);
    assert.deepEqual(first.steps.map((x) => x.step), ['find the running instance', `free ports ${port}`, `start app-${port}: exec "${process.execPath}" ${SERVER} ${port}`]);
    assert.match(first.steps[0]!.detail, /no instance running/);
    const id1 = identify(pid1)!;

    const second = await restart(s);
    assert.ok(second.result.ok, second.result.detail);
    const pid2 = second.result.pid!;
    assert.notEqual(pid2, pid1);
    assert.ok(isDead(id1), 'the old instance is dead');
    assert.ok(isAlive(identify(pid2)!), 'the new instance is alive');
    assert.equal(pidfilePid(s), pid2, 'the pidfile names the new pid');
    assert.equal(await waitServed(port, pid2), pid2);
    assert.deepEqual(holdersOf(port).map((h) => h.pid), [pid2]);
    assert.deepEqual(findProcessInstances(s), [pid2]);
    assert.deepEqual(second.steps.map((x) => [x.step, x.ok]), [
      ['find the running instance', true],
      [`stop ${pid1}`, true],
      [`free ports ${port}`, true],
      [`start app-${port}: exec "${process.execPath}" ${SERVER} ${port}`, true],
    ]);
    assert.match(second.steps[0]!.detail, new RegExp(`pid ${pid1} .* via pidfile`));
    assert.match(second.steps[1]!.detail, new RegExp(`stopped pid ${pid1} .* with SIGTERM`));
    assert.deepEqual(second.result.stop?.stopped.map((x) => [x.pid, x.outcome]), [[pid1, 'SIGTERM']]);
    assert.match(second.result.detail, new RegExp(`started pid ${pid2}`));

    const log = readFileSync(s.logFile, 'utf8');
    assert.match(log, new RegExp(`listening on ${port} as pid ${pid1}`));
    assert.match(log, /SIGTERM: bye/);
    assert.match(log, new RegExp(`listening on ${port} as pid ${pid2}`), 'appended, not truncated');
  });

  test('a pattern-only app (no pidfile) is found by its command line and restarted', async () => {
    const port = 47701;
    const s = spec(port, { pidfile: undefined });
    const first = await restart(s);
    assert.ok(first.result.ok, first.result.detail);
    const server = await waitServed(port, first.result.pid!);
    const ids = family(first.result.pid!).map((p) => identify(p)!);
    // the shell (`sh -c "node" hm-strategy-server.cjs PORT`) and node both match the pattern
    assert.deepEqual(findProcessInstances(s).sort((a, b) => a - b), family(first.result.pid!));
    assert.ok(ids.some((i) => i.pid === server));
    const second = await restart(s);
    assert.ok(second.result.ok, second.result.detail);
    for (const i of ids) assert.match(second.steps[0]!.detail, new RegExp(`pid ${i.pid} .* via pattern`));
    assert.ok(ids.every(isDead), 'the old shell and server are dead');
    await waitServed(port, second.result.pid!);
  });

  test('a shell that did not exec: the shell and its child are both stopped', async () => {
    const port = 47702;
    // `; echo` keeps dash from exec'ing: the pidfile names the shell, node is its child
    const s = spec(port, { command: `"${process.execPath}" ${SERVER} ${port}; echo "server exited"` });
    const first = await restart(s);
    assert.ok(first.result.ok, first.result.detail);
    const shell = identify(first.result.pid!)!;
    const node = await waitFor('the node child', () => [...descendants([shell.pid])][0], 5000, 10);
    const child = identify(node)!;
    await waitServed(port, child.pid);
    const second = await restart(s);
    assert.ok(second.result.ok, second.result.detail);
    assert.ok(isDead(shell), 'the old shell is dead');
    assert.ok(isDead(child), 'its node child is dead too');
    const stopped = second.result.stop?.stopped.map((x) => x.pid).sort((a, b) => a - b);
    assert.deepEqual(stopped, [shell.pid, child.pid].sort((a, b) => a - b));
    const nextChild = await waitFor('the new node child', () => [...descendants([second.result.pid!])][0], 5000, 10);
    ledger.add(nextChild);
    await waitServed(port, nextChild);
  });

  test('a process that ignores SIGTERM is killed with SIGKILL after stop_grace', async () => {
    const port = 47703;
    const s = spec(port, { command: `"${process.execPath}" ${SERVER} ${port} ignore-term`, stopGraceMs: 300 });
    const first = await restart(s);
    assert.ok(first.result.ok, first.result.detail);
    const server = identify(await waitServed(port, first.result.pid!))!;
    const shell = identify(first.result.pid!)!;
    const t0 = performance.now();
    const second = await restart(s);
    const took = performance.now() - t0;
    assert.ok(second.result.ok, second.result.detail);
    assert.ok(isDead(server) && isDead(shell));
    const outcomes = new Map(second.result.stop?.stopped.map((x) => [x.pid, x.outcome]));
    assert.equal(outcomes.get(server.pid), 'SIGKILL', JSON.stringify(second.result.stop));
    if (shell.pid !== server.pid) assert.equal(outcomes.get(shell.pid), 'SIGTERM', 'the shell went at SIGTERM');
    assert.match(second.steps[1]!.detail, /with SIGKILL after 300 ms/);
    assert.ok(took >= 300, `waited the grace (${took.toFixed(0)} ms)`);
    assert.match(readFileSync(s.logFile, 'utf8'), /SIGTERM ignored/);
  });

  test('a stray holding the port inside the app directory is freed before the start', async () => {
    const port = 47704;
    const s = spec(port);
    const stray = spawnTracked(['-e', `require('net').createServer().listen(${port}, '127.0.0.1'); setInterval(() => {}, 60000)`], { cwd: appDir });
    await waitFor('the stray listening', () => holdersOf(port).some((h) => h.pid === stray.pid), 5000, 10);
    const { result, steps } = await restart(s);
    assert.ok(result.ok, `${result.detail} ${JSON.stringify(result.ports)}`);
    assert.ok(isDead(stray), 'the stray is dead');
    const killed = result.ports?.killed.find((k) => k.pid === stray.pid);
    assert.ok(killed, JSON.stringify(result.ports));
    assert.match(killed.why, /runs in the app's directory/);
    assert.ok(steps.some((x) => x.step === `free ports ${port}` && x.ok && x.detail.includes(`killed pid ${stray.pid}`)), JSON.stringify(steps));
    await waitServed(port, result.pid!);
  });

  test('a foreign holder of the port (outside the app) is refused: no start, ok false', async () => {
    const port = 47705;
    const s = spec(port);
    const foreign = spawnTracked(['-e', `require('net').createServer().listen(${port}, '127.0.0.1'); setInterval(() => {}, 60000)`], { cwd: '/' });
    await waitFor('the foreign holder listening', () => holdersOf(port).some((h) => h.pid === foreign.pid), 5000, 10);
    const { result, steps } = await restart(s);
    assert.equal(result.ok, false);
    assert.match(result.detail, /port still held/);
    assert.ok(result.ports?.refused.some((r) => r.pid === foreign.pid && /kill_scope app/.test(r.why)), JSON.stringify(result.ports));
    assert.ok(!steps.some((x) => x.step.startsWith('start')), 'no start into a held port');
    assert.ok(isAlive(foreign));
    killIdentified(foreign);
  });

  test('kill_scope app: pattern matches run by another user or in a foreign directory are refused and reported', async () => {
    const port = 47706;
    const s = spec(port);
    const first = await restart(s);
    assert.ok(first.result.ok, first.result.detail);
    const app1 = identify(first.result.pid!)!;
    await waitServed(port, app1.pid);
    const elsewhere = mkdtempSync(join(tmp, 'elsewhere-'));
    const foreignDir = spawnPatternStranger(port, { cwd: elsewhere });
    const nobody = nobodyIds();
    const otherUser = nobody ? spawnPatternStranger(port, { cwd: appDir, uid: nobody.uid, gid: nobody.gid }) : undefined;
    await waitFor('the strangers running', () => procFacts(foreignDir.pid)?.command.includes(PATTERN) && (!otherUser || procFacts(otherUser.pid)?.command.includes(PATTERN)), 5000, 10);

    // The strangers are not the app's instances ("status" does not count them).
    const appFamily = family(app1.pid);
    assert.deepEqual(findProcessInstances(s).sort((a, b) => a - b), appFamily);
    const appIds = appFamily.map((p) => identify(p)!);

    const { result, steps } = await restart(s);
    assert.ok(result.ok, result.detail);
    assert.ok(appIds.every(isDead), 'the app instance was stopped');
    assert.ok(isAlive(foreignDir), 'the stranger in a foreign directory is alive');
    const refusedDir = result.stop?.refused.find((r) => r.pid === foreignDir.pid);
    assert.ok(refusedDir, JSON.stringify(result.stop));
    assert.match(refusedDir.why, new RegExp(`runs in ${elsewhere}, not the app's directory`));
    assert.match(refusedDir.why, /kill_scope app/);
    assert.match(result.detail, new RegExp(`refused pid ${foreignDir.pid} `));
    const stopStep = steps.find((x) => x.step.startsWith('stop'));
    assert.ok(stopStep?.ok && stopStep.detail.includes(`refused pid ${foreignDir.pid} `), JSON.stringify(steps));
    if (otherUser && nobody) {
      assert.ok(isAlive(otherUser), "the other user's process is alive");
      const refusedUser = result.stop?.refused.find((r) => r.pid === otherUser.pid);
      assert.ok(refusedUser, JSON.stringify(result.stop));
      assert.equal(refusedUser.uid, nobody.uid);
      assert.match(refusedUser.why, new RegExp(`run by uid ${nobody.uid}`));
      assert.match(stopStep.detail, new RegExp(`refused pid ${otherUser.pid} \\(.*, uid ${nobody.uid}\\): `));
    }
    await waitServed(port, result.pid!);

    // kill_scope user (explicit opt-in): our own stranger is stopped, the other user's still refused
    const widened = await restart({ ...s, killScope: 'user' });
    assert.ok(widened.result.ok, widened.result.detail);
    await waitFor('the same-user stranger dead', () => isDead(foreignDir), 3000, 10);
    assert.ok(widened.result.stop?.stopped.some((x) => x.pid === foreignDir.pid), JSON.stringify(widened.result.stop));
    if (otherUser) {
      assert.ok(isAlive(otherUser), "the other user's process is still alive");
      assert.match(widened.result.stop?.refused.find((r) => r.pid === otherUser.pid)?.why ?? '', /rule uid under kill_scope user/);
      killIdentified(otherUser);
    }
    await waitServed(port, widened.result.pid!);
  });

  test('a pidfile whose pid is dead: just start', async () => {
    const port = 47707;
    const s = spec(port);
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const deadPid = gone.pid!;
    await new Promise((r) => gone.once('exit', r));
    mkdirSync(join(tmp, 'run'), { recursive: true });
    writeFileSync(s.pidfile!, `${deadPid}\n`);
    assert.equal(isProcessRunning(s), false);
    const { result, steps } = await restart(s);
    assert.ok(result.ok, result.detail);
    assert.match(steps[0]!.detail, new RegExp(`names pid ${deadPid}, which is not running`));
    assert.ok(!steps.some((x) => x.step.startsWith('stop')), 'nothing to stop');
    assert.equal(pidfilePid(s), result.pid);
    await waitServed(port, result.pid!);
  });

  test('a pidfile whose pid now belongs to another program: left alone, reported, the app started', async () => {
    const port = 47708;
    const s = spec(port);
    const other = spawnTracked(['-e', 'setInterval(() => {}, 60000)', 'some-other-program'], { cwd: '/' });
    mkdirSync(join(tmp, 'run'), { recursive: true });
    writeFileSync(s.pidfile!, `${other.pid}\n`);
    assert.equal(isProcessRunning(s), false, 'a reused pid is not the app');
    const { result, steps } = await restart(s);
    assert.ok(result.ok, result.detail);
    assert.ok(isAlive(other), 'the unrelated process is alive');
    assert.match(steps[0]!.detail, new RegExp(`pid ${other.pid} \\(.*some-other-program.*not the app any more`));
    assert.ok(!steps.some((x) => x.step.startsWith('stop')));
    assert.equal(pidfilePid(s), result.pid, 'the pidfile now names the app');
    await waitServed(port, result.pid!);
    killIdentified(other);
  });

  test('a command that exits at once is a failed start, with the log tail', async () => {
    const s = spec(47709, { command: 'echo "boom: missing config" >&2; exit 7', ports: [] });
    const { result, steps } = await restart(s);
    assert.equal(result.ok, false);
    assert.match(result.detail, /start failed: pid \d+ exited within \d+ ms \(exit code 7\); log: boom: missing config/);
    assert.equal(steps.at(-1)?.ok, false);
    assert.ok(!existsSync(s.pidfile!), 'no pidfile for a process that is gone');
  });

  test('a missing working directory is a failed start', async () => {
    const s = spec(47710, { cwd: join(tmp, 'no-such-dir'), ports: [] });
    const { result } = await restart(s);
    assert.equal(result.ok, false);
    assert.match(result.detail, /working directory .*no-such-dir does not exist/);
  });
});

describe('service strategy (systemctl stand-in)', () => {
  let bin: string;
  let n = 0;
  before(() => {
    bin = join(tmp, 'bin');
    mkdirSync(bin, { recursive: true });
    copyFileSync(STUB, join(bin, 'systemctl'));
    chmodSync(join(bin, 'systemctl'), 0o755);
  });

  /** An env with the stub first on PATH and a fresh call log. */
  function stubEnv(vars: Record<string, string> = {}): { env: NodeJS.ProcessEnv; calls: () => string[] } {
    const log = join(tmp, `systemctl-${++n}.log`);
    const env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, SYSTEMCTL_STUB_LOG: log, ...vars };
    return { env, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []) };
  }

  test('restart, then is-active until active', async () => {
    const { env, calls } = stubEnv();
    const reporter = recordingReporter(systemClock);
    const r = await restartService({ unit: 'helpdesk', timeoutMs: 5000 }, { clock: systemClock, reporter, env });
    assert.ok(r.ok, r.detail);
    assert.match(r.detail, /helpdesk restarted and active after \d+ ms/);
    assert.deepEqual(calls(), ['restart helpdesk', 'is-active helpdesk']);
    assert.deepEqual(reporter.steps.map((x) => [x.step, x.ok]), [['systemctl restart helpdesk', true], ['wait for helpdesk active', true]]);
  });

  test('activating, then active: polled in order', async () => {
    const { env, calls } = stubEnv({ SYSTEMCTL_STUB_ACTIVATING: '2' });
    const reporter = recordingReporter(systemClock);
    const r = await restartService({ unit: 'helpdesk.service', timeoutMs: 5000 }, { clock: systemClock, reporter, env });
    assert.ok(r.ok, r.detail);
    assert.deepEqual(calls(), ['restart helpdesk.service', 'is-active helpdesk.service', 'is-active helpdesk.service', 'is-active helpdesk.service']);
    assert.match(reporter.steps[1]!.detail, /active \(3 polls\)/);
  });

  test('is-active says failed: ok false with the reason, no more polling', async () => {
    const { env, calls } = stubEnv({ SYSTEMCTL_STUB_STATE: 'failed' });
    const reporter = recordingReporter(systemClock);
    const r = await restartService({ unit: 'helpdesk', timeoutMs: 5000 }, { clock: systemClock, reporter, env });
    assert.equal(r.ok, false);
    assert.match(r.detail, /helpdesk not active after restart: helpdesk is failed \(systemctl is-active exited 3\)/);
    assert.deepEqual(calls(), ['restart helpdesk', 'is-active helpdesk']);
    assert.deepEqual(reporter.steps.map((x) => x.ok), [true, false]);
  });

  test('never active within the budget: ok false naming the last state', async () => {
    const { env, calls } = stubEnv({ SYSTEMCTL_STUB_STATE: 'inactive' });
    const t0 = performance.now();
    const r = await restartService({ unit: 'helpdesk', timeoutMs: 600 }, { clock: systemClock, reporter: recordingReporter(systemClock), env });
    const took = performance.now() - t0;
    assert.equal(r.ok, false);
    assert.match(r.detail, /not active within 600 ms \(last: inactive, systemctl is-active exited 3; \d+ polls\)/);
    assert.ok(took >= 600 && took < 3000, `${took.toFixed(0)} ms`);
    const c = calls();
    assert.equal(c[0], 'restart helpdesk');
    assert.ok(c.length >= 3 && c.slice(1).every((x) => x === 'is-active helpdesk'), c.join(','));
  });

  test('restart itself fails: ok false with what systemctl said, no polling', async () => {
    const { env, calls } = stubEnv({ SYSTEMCTL_STUB_RESTART_EXIT: '1' });
    const r = await restartService({ unit: 'helpdesk', timeoutMs: 5000 }, { clock: systemClock, reporter: recordingReporter(systemClock), env });
    assert.equal(r.ok, false);
    assert.match(r.detail, /systemctl restart helpdesk exited 1: Job for helpdesk failed/);
    assert.deepEqual(calls(), ['restart helpdesk']);
  });

  test('a systemctl that never answers is ended by the timeout', async () => {
    const { env, calls } = stubEnv({ SYSTEMCTL_STUB_HANG: '1' });
    const t0 = performance.now();
    const r = await restartService({ unit: 'helpdesk', timeoutMs: 700 }, { clock: systemClock, reporter: recordingReporter(systemClock), env });
    const took = performance.now() - t0;
    assert.equal(r.ok, false);
    assert.match(r.detail, /systemctl restart helpdesk: timed out after 700 ms/);
    assert.ok(took < 3000, `${took.toFixed(0)} ms`);
    assert.deepEqual(calls(), ['restart helpdesk']);
  });

  test('an invalid unit name is refused without calling systemctl', async () => {
    const { env, calls } = stubEnv();
    const r = await restartService({ unit: '--force', timeoutMs: 1000 }, { clock: systemClock, reporter: recordingReporter(systemClock), env });
    assert.equal(r.ok, false);
    assert.match(r.detail, /starts with "-"/);
    assert.deepEqual(calls(), []);
  });

  test('serviceExists: true for a known unit, false otherwise and without systemctl', async () => {
    const { env, calls } = stubEnv({ SYSTEMCTL_STUB_UNITS: 'helpdesk other.service' });
    assert.equal(await serviceExists('helpdesk', env), true);
    assert.equal(await serviceExists('helpdesk.service', env), true);
    assert.equal(await serviceExists('other', env), true);
    assert.equal(await serviceExists('missing', env), false);
    assert.equal(await serviceExists('bad name', env), false);
    assert.deepEqual(calls(), ['cat helpdesk', 'cat helpdesk.service', 'cat other', 'cat missing']);
    const empty = join(tmp, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    assert.equal(await serviceExists('helpdesk', { PATH: empty }), false, 'no systemctl on PATH');
  });
});
