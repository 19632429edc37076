// observe() and squatters, with real listeners found through /proc: a crash check searches first
// and does not probe; a found squatter skips the probes; shortly after a crash a failed probe is
// followed by a search; without a crash it is not; a process the app's instance started is not a squatter.
// Only processes this file spawned are ever signalled.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { defaultAppConfig, type AppConfig } from '../../../src/config/schema.js';
import { observe, type ObserveInput } from '../../../src/engine/observe.js';
import type { ProcessInfo } from '../../../src/pm2/adapter.js';
import type { HttpOutcome, Pm2State, Pm2StatusOutcome } from '../../../src/probes/types.js';
import { procAvailable, readFullCommand } from '../../../src/proc/read.js';
import type { RestartStrategy } from '../../../src/strategies/types.js';

const skip = procAvailable ? false : 'needs Linux /proc';
const children = new Set<ChildProcess>();
/** Grandchildren (the instance's worker), ended by pid while their command line is still ours. */
const workers = new Set<number>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of workers) if (readFullCommand(pid)?.includes('setInterval')) process.kill(pid, 'SIGKILL');
});

/** `node -e code`; resolves with the first line it prints (JSON). */
async function run(code: string): Promise<{ child: ChildProcess; info: { port: number; pid?: number } }> {
  // stderr ignored: a process left behind must not hold the test runner's pipe open.
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.add(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', () => reject(new Error('the listener exited')));
  });
  return { child, info: JSON.parse(line) as { port: number; pid?: number } };
}

/** A stranger listening on a fresh loopback port. */
const stranger = (): Promise<{ child: ChildProcess; info: { port: number } }> =>
  run(`const s = require('net').createServer(); s.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: s.address().port }))); setInterval(() => {}, 60000);`);

/** An "instance" whose child holds the listening socket (a worker it started). */
const instanceWithWorker = (): Promise<{ child: ChildProcess; info: { port: number; pid?: number } }> =>
  run(`const { spawn } = require('child_process');
const w = spawn(process.execPath, ['-e', "const s = require('net').createServer(); s.listen(0, '127.0.0.1', () => console.log(s.address().port)); setInterval(() => {}, 60000);"], { stdio: ['ignore', 'pipe', 'ignore'] });
w.stdout.once('data', (d) => console.log(JSON.stringify({ port: Number(String(d).trim()), pid: w.pid })));
process.on('exit', () => w.kill('SIGKILL'));
setInterval(() => {}, 60000);`);

const TIMEOUT: HttpOutcome = { ok: false, failure: 'timeout', latencyMs: 500, detail: 'no answer within 500 ms' };

function setup(port: number, status: { state: Pm2State; uptimeMs?: number; pids?: number[] }, http: HttpOutcome = TIMEOUT) {
  const base = defaultAppConfig('sq-app');
  const app: AppConfig = { ...base, health: { ...base.health, url: `http://127.0.0.1:${port}/health` }, ports: [port] };
  const outcome: Pm2StatusOutcome = { state: status.state, pids: status.pids ?? [], pmIds: [0], restarts: 0, uptimeMs: status.uptimeMs ?? 60_000, detail: `status ${status.state}` };
  const strategy: RestartStrategy = { name: 'pm2', readsTable: true, status: () => outcome, restart: () => Promise.resolve({ ok: true, detail: '' }) };
  const list: ProcessInfo[] = (status.pids ?? []).map((pid) => ({
    pmId: 0, name: 'sq-app', pid, status: status.state, restarts: 0, unstableRestarts: 0, startedAt: 0, memory: 0, cpu: 0, execMode: 'fork', isModule: false,
  }));
  const probes = { n: 0 };
  const input = (patch: Partial<ObserveInput> = {}): ObserveInput => ({
    app, list, freshList: () => Promise.resolve(list), strategy,
    prober: { probe: () => (probes.n++, Promise.resolve(http)), close: () => undefined },
    limit: (task) => task(), now: () => performance.now(), crashes: 0, paused: false, leftStopped: false, daemonPid: () => undefined, rules: {},
    ...patch,
  });
  return { input, probes };
}

describe('observe: squatters', { skip }, () => {
  test('a crash check finds the stranger first and does not probe', async () => {
    const s = await stranger();
    const { input, probes } = setup(s.info.port, { state: 'online', uptimeMs: 50, pids: [2_000_000] });
    const obs = await observe(input({ crashes: 1 }));
    assert.deepEqual(obs.squatters.map((x) => x.pid), [s.child.pid]);
    assert.equal(obs.squatters[0]?.port, s.info.port);
    assert.equal(probes.n, 0, 'no probe: it would only reach the squatter');
    assert.equal(obs.http, undefined);
  });

  test('a crash check with nothing on the port does not probe either: the exit is the evidence', async () => {
    const s = await stranger();
    const port = s.info.port;
    s.child.kill('SIGKILL');
    await new Promise((r) => s.child.once('exit', r));
    const { input, probes } = setup(port, { state: 'online', uptimeMs: 50, pids: [2_000_000] });
    const obs = await observe(input({ crashes: 1 }));
    assert.deepEqual(obs.squatters, []);
    assert.equal(probes.n, 0);
  });

  test('a port-watch hit searches first too', async () => {
    const s = await stranger();
    const { input, probes } = setup(s.info.port, { state: 'online', uptimeMs: 50, pids: [2_000_000] });
    const obs = await observe(input({ watchHit: true }));
    assert.deepEqual(obs.squatters.map((x) => x.pid), [s.child.pid]);
    assert.equal(probes.n, 0);
  });

  test('shortly after a crash, an instance whose probe fails is searched after the probe', async () => {
    const s = await stranger();
    const { input, probes } = setup(s.info.port, { state: 'online', uptimeMs: 300, pids: [2_000_000] });
    const obs = await observe(input({ sinceCrashMs: 200 }));
    assert.equal(probes.n, 1);
    assert.equal(obs.http?.ok, false);
    assert.deepEqual(obs.squatters.map((x) => x.pid), [s.child.pid]);
  });

  test('no recent crash (a deploy, a start), or a passing probe: no search', async () => {
    const s = await stranger();
    const starting = setup(s.info.port, { state: 'online', uptimeMs: 300, pids: [2_000_000] });
    assert.deepEqual((await observe(starting.input())).squatters, [], 'a failing probe of a new instance alone is no reason');
    const passing = setup(s.info.port, { state: 'online', uptimeMs: 300, pids: [2_000_000] }, { ok: true, status: 200, latencyMs: 1 });
    assert.deepEqual((await observe(passing.input({ sinceCrashMs: 200 }))).squatters, []);
  });

  test("a worker the app's instance started is the app, not a squatter", async () => {
    const inst = await instanceWithWorker();
    workers.add(inst.info.pid!);
    const { input } = setup(inst.info.port, { state: 'online', uptimeMs: 50, pids: [inst.child.pid!] });
    const obs = await observe(input({ crashes: 1 }));
    assert.deepEqual(obs.squatters, [], `the worker pid ${inst.info.pid} descends from the instance ${inst.child.pid}`);
    // The same worker, once its instance is not the app's any more (not in PM2's list), is one.
    const orphaned = setup(inst.info.port, { state: 'launching', pids: [] });
    assert.deepEqual((await observe(orphaned.input({ crashes: 1 }))).squatters.map((x) => x.pid), [inst.info.pid]);
  });
});
