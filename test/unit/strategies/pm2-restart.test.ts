// The pm2 strategy's remedy restart (issue 12): PM2's own restart when the app's online instances
// alone hold its ports (PM2 then counts it), stop -> free -> start otherwise. PM2 answers by
// hand here; the instances and strays are real processes on loopback ports, found through /proc.
// test/integration/crash-squatter.test.ts drives a real daemon.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { systemClock } from '../../../src/clock.js';
import { defaultAppConfig, type AppConfig } from '../../../src/config/schema.js';
import type { Pm2Action, Pm2Port, ProcessInfo } from '../../../src/pm2/adapter.js';
import { procAvailable, readStat } from '../../../src/proc/read.js';
import { recordingReporter } from '../../../src/steps/steps.js';
import { pm2Strategy, remedyRestart } from '../../../src/strategies/pm2.js';

const skip = procAvailable ? false : 'needs Linux /proc';
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    try {
      process.kill(c.pid!, 'SIGCONT');
    } catch {
      // gone
    }
    c.kill('SIGKILL');
  }
});

/** A process listening on a fresh loopback port (an instance of the app, or a stray). */
async function listener(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', `const s = require('net').createServer(); s.listen(0, '127.0.0.1', () => console.log(s.address().port)); setInterval(() => {}, 60000);`], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.add(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', () => reject(new Error('the listener exited')));
  });
  return { child, port: Number(line) };
}

const row = (pmId: number, pid: number, status = 'online'): ProcessInfo => ({
  pmId, name: 'rs-app', pid, status, restarts: 0, unstableRestarts: 0, startedAt: 0, memory: 0, cpu: 0, execMode: 'fork', isModule: false,
});

/**
 * PM2 by hand: a list, and actions recorded. A restart of an online row marks it stopping, sends
 * SIGINT to its pid (only pids this file spawned) and waits for it to die, as PM2's stop does:
 * a frozen process keeps its SIGINT pending and dies only of a SIGKILL.
 */
class FakePm2 {
  readonly acts: [Pm2Action, number][] = [];
  constructor(public rows: ProcessInfo[]) {}
  list(): Promise<ProcessInfo[]> {
    return Promise.resolve(this.rows.map((r) => ({ ...r })));
  }
  async act(action: Pm2Action, pmId: number): Promise<void> {
    this.acts.push([action, pmId]);
    const r = this.rows.find((x) => x.pmId === pmId);
    if (!r || action !== 'restart' || r.status !== 'online') return;
    this.set(pmId, { status: 'stopping' });
    if ([...children].some((c) => c.pid === r.pid)) process.kill(r.pid, 'SIGINT');
    const until = Date.now() + 5000;
    while (Date.now() < until && readStat(r.pid) !== undefined && readStat(r.pid)?.state !== 'Z') await new Promise((res) => setTimeout(res, 10));
    this.set(pmId, { status: 'online', pid: 3_000_000 + pmId });
  }
  private set(pmId: number, patch: Partial<ProcessInfo>): void {
    this.rows = this.rows.map((x) => (x.pmId === pmId ? { ...x, ...patch } : x));
  }
  asPort(): Pm2Port {
    const port = {
      list: () => this.list(), describe: () => Promise.resolve(undefined), act: (a: Pm2Action, id: number) => this.act(a, id), start: () => Promise.resolve(),
      daemonPid: () => undefined, onProcessEvent: () => () => undefined, onBusSignal: () => () => undefined, close: () => Promise.resolve(),
    };
    return port;
  }
}

function appWith(ports: readonly number[], patch: Partial<AppConfig> = {}): AppConfig {
  return { ...defaultAppConfig('rs-app'), ports: [...ports], killGraceMs: 500, ...patch };
}

const deps = (pm2: FakePm2) => ({ pm2: pm2.asPort(), clock: systemClock, pm2Home: '/nonexistent-pm2-home' });

describe('remedyRestart', { skip }, () => {
  test('online instances and no ports: one PM2 restart per instance, no stop', async () => {
    const pm2 = new FakePm2([row(0, 0, 'online'), row(1, 0, 'online')].map((r, i) => ({ ...r, pid: 2_000_000 + i })));
    const rec = recordingReporter(systemClock);
    const r = await remedyRestart(appWith([]), deps(pm2), rec);
    assert.ok(r.ok, r.detail);
    assert.equal(r.detail, 'restarted by PM2');
    assert.deepEqual(pm2.acts, [['restart', 0], ['restart', 1]]);
    assert.deepEqual(rec.steps.map((s) => s.step), ['look up the app in PM2', 'restart through PM2']);
  });

  test('only the app listens on its port: the survey says so, and PM2 restarts it', async () => {
    const inst = await listener();
    const pm2 = new FakePm2([row(0, inst.child.pid!)]);
    const rec = recordingReporter(systemClock);
    const r = await remedyRestart(appWith([inst.port]), deps(pm2), rec);
    assert.ok(r.ok, r.detail);
    assert.deepEqual(pm2.acts, [['restart', 0]]);
    const survey = rec.steps.find((s) => s.step === `survey ports ${inst.port}`);
    assert.ok(survey?.ok);
    assert.match(survey.detail, /only the app listens/);
    assert.equal(r.ports, undefined, 'nothing was freed');
  });

  test('a hung instance is SIGKILLed as soon as PM2 marks it stopping, not after kill_timeout', async () => {
    const inst = await listener();
    process.kill(inst.child.pid!, 'SIGSTOP');
    const pm2 = new FakePm2([row(0, inst.child.pid!)]);
    const rec = recordingReporter(systemClock);
    const t0 = performance.now();
    const r = await remedyRestart(appWith([inst.port]), deps(pm2), rec, { hung: true });
    const ms = performance.now() - t0;
    assert.ok(r.ok, r.detail);
    assert.equal(inst.child.signalCode ?? (await new Promise((res) => inst.child.once('exit', (_c, s) => res(s)))), 'SIGKILL');
    assert.ok(ms < 2000, `restarted in ${Math.round(ms)} ms`);
    assert.match(rec.steps.find((s) => s.step === 'restart through PM2')?.detail ?? '', /hung: killed at once/);
  });

  test('a stray on the port: stop, free (the stray is killed), start; PM2 is never asked to restart an online app', async () => {
    const stray = await listener();
    const pm2 = new FakePm2([row(0, 2_000_000)]);
    const rec = recordingReporter(systemClock);
    const r = await remedyRestart(appWith([stray.port], { killScope: 'user' }), deps(pm2), rec);
    assert.ok(r.ok, r.detail);
    assert.deepEqual(rec.steps.map((s) => s.step), ['look up the app in PM2', `survey ports ${stray.port}`, 'stop through PM2', `free ports ${stray.port}`, 'start through PM2']);
    assert.match(rec.steps[1]!.detail, new RegExp(`other than the app listens on port ${stray.port}`));
    assert.deepEqual(r.ports?.killed.map((k) => k.pid), [stray.child.pid]);
    // The start comes after the stop: PM2 starts a stopped app (and counts nothing).
    assert.deepEqual(pm2.acts, [['stop', 0], ['restart', 0]]);
  });

  test('online, but nothing listens on the port (crashed, or still starting): stop, free, start', async () => {
    const gone = await listener();
    gone.child.kill('SIGKILL');
    await new Promise((r) => gone.child.once('exit', r));
    const pm2 = new FakePm2([row(0, 2_000_000)]);
    const rec = recordingReporter(systemClock);
    const r = await remedyRestart(appWith([gone.port]), deps(pm2), rec);
    assert.ok(r.ok, r.detail);
    assert.match(rec.steps.find((s) => s.step === `survey ports ${gone.port}`)?.detail ?? '', new RegExp(`nothing listens on port ${gone.port}`));
    assert.deepEqual(rec.steps.map((s) => s.step).slice(2), ['stop through PM2', `free ports ${gone.port}`, 'start through PM2']);
    assert.deepEqual(pm2.acts, [['stop', 0], ['restart', 0]]);
  });

  test('an instance that is not online (errored, stopped): stop, free, start without a survey', async () => {
    const pm2 = new FakePm2([row(0, 0, 'errored')]);
    const rec = recordingReporter(systemClock);
    const r = await remedyRestart(appWith([]), deps(pm2), rec);
    assert.ok(r.ok, r.detail);
    assert.deepEqual(rec.steps.map((s) => s.step), ['look up the app in PM2', 'stop through PM2', 'start through PM2']);
    assert.deepEqual(pm2.acts, [['stop', 0], ['restart', 0]]);
  });

  test('the journal hears each step before it is taken; an aborted signal stops the road after the stop', async () => {
    const pm2 = new FakePm2([{ ...row(0, 0, 'errored'), restarts: 4, startedAt: 1234 }]);
    const notes: [string, string][] = [];
    const journal = (step: string, instances: readonly { pmId: number; restarts: number; startedAt: number }[]): void => {
      notes.push([step, `${pm2.acts.length} acts; ${instances.map((i) => `${i.pmId}:${i.restarts}:${i.startedAt}`).join(',')}`]);
    };
    const r = await remedyRestart(appWith([]), deps(pm2), recordingReporter(systemClock), { journal });
    assert.ok(r.ok, r.detail);
    assert.deepEqual(notes, [['stopping', '0 acts; 0:4:1234'], ['stopped', '1 acts; 0:4:1234'], ['starting', '1 acts; 0:4:1234']]);

    const cut = new FakePm2([row(0, 0, 'errored')]);
    const abort = new AbortController();
    const steps: string[] = [];
    const r2 = await remedyRestart(appWith([]), deps(cut), recordingReporter(systemClock), {
      signal: abort.signal,
      journal: (step) => {
        steps.push(step);
        if (step === 'stopping') abort.abort();
      },
    });
    assert.equal(r2.ok, false);
    assert.match(r2.detail, /^abandoned: the monitor is shutting down/);
    assert.deepEqual(steps, ['stopping', 'stopped'], 'no start after the abort');
    assert.deepEqual(cut.acts, [['stop', 0]]);
  });

  test('PM2\'s own restart is journaled as restarting; the wrapper\'s stop is never journaled', async () => {
    const pm2 = new FakePm2([row(0, 2_000_000)]);
    const steps: string[] = [];
    await remedyRestart(appWith([]), deps(pm2), recordingReporter(systemClock), { journal: (step) => steps.push(step) });
    assert.deepEqual(steps, ['restarting']);
  });

  test('the strategy restarts through remedyRestart', async () => {
    const pm2 = new FakePm2([row(0, 2_000_000)]);
    const rec = recordingReporter(systemClock);
    const r = await pm2Strategy(deps(pm2)).restart(appWith([]), rec, { hung: false });
    assert.ok(r.ok);
    assert.deepEqual(pm2.acts, [['restart', 0]]);
  });
});
