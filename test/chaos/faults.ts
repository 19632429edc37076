/**
 * The faults of the chaos run, each with what it expects. A fault sets its row up (apps, config,
 * `run`, the timer), injects itself at `t0`, and judges the outcome; the runner (runner.ts) adds
 * what every row counts: our remedies and PM2's restarts, foreign kills, leftovers.
 */
import { writeFileSync, existsSync, readFileSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { injectFault } from '../../bench/lib/health.js';
import { commandOf, holdersOf, identify, isAlive, killIdentified, type ProcIdentity } from '../helpers/holders.js';
import { armSquatter, endSquatter } from '../helpers/late-squatter.js';
import { flapApp, lineRe } from '../helpers/flap.js';
import { startReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait.js';
import { sleep, type Rig } from './rig.js';
import type { SystemUser } from './user.js';

export interface FaultContext {
  readonly rig: Rig;
  /** Loopback ports for this row (4, from the harness's range). */
  readonly ports: readonly number[];
  readonly appScript: string;
  readonly appDir: string;
  /** How long the row may take to recover after the fault. */
  readonly deadlineMs: number;
  readonly quick: boolean;
  /** The throwaway system user (root only). */
  readonly user?: SystemUser;
}

export interface FaultOutcome {
  /** Did the app(s) end healthy? */
  readonly recovered: boolean;
  /** Did everything the row expects hold (beyond the runner's generic checks)? */
  readonly met: boolean;
  /** ms from the fault to the first healthy answer that counts; null: none. */
  readonly healthyMs: number | null;
  readonly notes: string[];
  /** performance.now() of the fault (the runner counts remedies from the log after it). */
  readonly t0: number;
  /** The app whose restarts the row counts. */
  readonly app: string;
  /** Expected number of our remedies: exact, a range, or `any`. */
  readonly ours: { readonly min: number; readonly max: number };
  /** Expected PM2 restarts (its own, not ours): at least this many. */
  readonly pm2Min?: number;
}

export interface Fault {
  readonly name: string;
  readonly expected: string;
  readonly needsRoot?: boolean;
  run(ctx: FaultContext): Promise<FaultOutcome>;
}

const APP = 'hd-app';

/** PM2 options for the example app (a copy in the run dir, so another user may enter its cwd). */
export function exampleApp(ctx: FaultContext, name: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name, script: ctx.appScript, cwd: ctx.appDir,
    env: { PORT: String(port), FAULTS: '1' },
    autorestart: true,
    // PM2 keeps trying (a squatter's EADDRINUSE loop does not make it give up within a row).
    restart_delay: 300, max_restarts: 1000, min_uptime: 1000,
    ...extra,
  };
}

/** The common start: the example app healthy, the config written, `run` watching, the timer on. */
async function standard(ctx: FaultContext, appExtra: Record<string, unknown> = {}, monitorExtra: Record<string, unknown> = {}, configExtra: Record<string, unknown> = {}): Promise<{ port: number; pid: number }> {
  const { rig } = ctx;
  const port = ctx.ports[0]!;
  await rig.startApps([exampleApp(ctx, APP, port, appExtra)]);
  const pid = await healthyPid(ctx, port);
  rig.writeConfig(rig.baseConfig([rig.appBlock(APP, port, monitorExtra)], configExtra));
  await rig.startRun([APP]);
  rig.startTimer();
  return { port, pid };
}

async function healthyPid(ctx: FaultContext, port: number): Promise<number> {
  let pid = 0;
  await ctx.rig.waitHealthy(port, performance.now(), performance.now() + 20_000, (p) => ((pid = p), true));
  if (!pid) throw new Error(`the app on ${port} did not become healthy within 20 s`);
  return pid;
}

/** A new pid, online in PM2, answering /health itself. */
async function recoveredWithNewPid(ctx: FaultContext, port: number, old: number, t0: number): Promise<number | null> {
  return ctx.rig.waitHealthy(port, t0, t0 + ctx.deadlineMs, (p) => p !== old);
}

const outcome = (o: Omit<FaultOutcome, 'notes' | 'app'> & { notes?: string[]; app?: string }): FaultOutcome => ({ notes: [], app: APP, ...o });

const sigkill: Fault = {
  name: 'sigkill',
  expected: "healthy; PM2's own restart, none from us",
  async run(ctx) {
    const { pid, port } = await standard(ctx);
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    const ms = await recoveredWithNewPid(ctx, port, pid, t0);
    return outcome({ recovered: ms !== null, met: ms !== null, healthyMs: ms, t0, ours: { min: 0, max: 0 }, pm2Min: 1 });
  },
};

const sigstop: Fault = {
  name: 'sigstop',
  expected: 'healthy through us (one remedy)',
  async run(ctx) {
    const { pid, port } = await standard(ctx);
    const t0 = performance.now();
    ctx.rig.freeze(pid);
    const ms = await recoveredWithNewPid(ctx, port, pid, t0);
    return outcome({ recovered: ms !== null, met: ms !== null, healthyMs: ms, t0, ours: { min: 1, max: 1 } });
  },
};

const busyLoop: Fault = {
  name: 'busy-loop',
  expected: 'healthy through us (one remedy)',
  async run(ctx) {
    const { pid, port } = await standard(ctx);
    const t0 = performance.now();
    await injectFault(port, 'hang');
    const ms = await recoveredWithNewPid(ctx, port, pid, t0);
    return outcome({ recovered: ms !== null, met: ms !== null, healthyMs: ms, t0, ours: { min: 1, max: 1 } });
  },
};

/** An app that exits at boot while its `broken` flag file exists, and serves the example's /health otherwise. */
function writeBreakable(ctx: FaultContext): { script: string; flag: string } {
  const dir = join(ctx.rig.home, 'breakable');
  mkdirSync(dir, { recursive: true });
  const flag = join(dir, 'broken');
  const script = join(dir, 'breakable.cjs');
  writeFileSync(script, [
    "const fs = require('fs');",
    `if (fs.existsSync(${JSON.stringify(flag)})) process.exit(1);`,
    "require('http').createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ status: 'ok', pid: process.pid })); })",
    "  .listen(Number(process.env.PORT), '127.0.0.1');",
    '',
  ].join('\n'));
  return { script, flag };
}

const crashLoop: Fault = {
  name: 'crash-loop',
  expected: 'contained: circuit open after at most max_restart_failures remedies; healthy through the half-open trial once fixed',
  async run(ctx) {
    const { rig } = ctx;
    const port = ctx.ports[0]!;
    const maxFailures = 2;
    const reset = ctx.quick ? 6 : 10;
    const { script, flag } = writeBreakable(ctx);
    // autorestart off, errored at each exit: every start after the fault is ours (PM2 alone would loop forever).
    await rig.startApps([{ ...flapApp(APP, script), cwd: rig.home, env: { PORT: String(port) } }]);
    const pid = await healthyPid(ctx, port);
    rig.writeConfig(rig.baseConfig([rig.appBlock(APP, port, {
      max_restart_failures: maxFailures, failure_window: '10m', circuit_reset_time: `${reset}s`, verify_timeout: '3s', startup_grace: '1s',
    })]));
    await rig.startRun([APP]);
    rig.startTimer();
    const t0 = performance.now();
    writeFileSync(flag, 'broken\n');
    process.kill(pid, 'SIGKILL');
    const notes: string[] = [];
    const opened = await waitFor('the circuit to open', () => rig.monitorLog().find((l) => lineRe(APP, 'circuit opened').test(l)), ctx.deadlineMs).catch(() => undefined);
    if (!opened) return outcome({ recovered: false, met: false, healthyMs: null, t0, notes: ['the circuit never opened'], ours: { min: 1, max: maxFailures } });
    const openedAt = performance.now();
    notes.push(`circuit open after ${((openedAt - t0) / 1000).toFixed(1)} s`);
    // Open: no remedy for circuit_reset_time. Stay broken a while to show it, then fix the app.
    await sleep(Math.min(2000, reset * 500));
    const remediesWhileOpen = countRemedies(rig.monitorLog(), APP);
    writeFileSync(flag, '');
    const { unlinkSync } = await import('node:fs');
    unlinkSync(flag);
    const ms = await rig.waitHealthy(port, t0, t0 + ctx.deadlineMs + reset * 1000, (p) => p !== pid);
    const lines = rig.monitorLog();
    const trial = lines.some((l) => lineRe(APP, 'unhealthy: .*; starting the half-open trial remedy').test(l));
    const closed = await waitFor('the circuit to close', () => rig.monitorLog().some((l) => lineRe(APP, 'circuit closed').test(l)), 10_000).catch(() => false);
    if (!trial) notes.push('no half-open trial remedy logged');
    if (!closed) notes.push('the circuit did not close');
    notes.push(`${remediesWhileOpen} remedies before the fix (max_restart_failures ${maxFailures})`);
    return outcome({
      recovered: ms !== null, met: ms !== null && trial && closed === true && remediesWhileOpen <= maxFailures,
      healthyMs: ms, t0, notes, ours: { min: 2, max: maxFailures + 1 },
    });
  },
};

/** Our remedy starts of `app` in the log (normal and half-open trials, and finished interrupted ones). */
export function countRemedies(lines: readonly string[], app: string): number {
  return lines.filter((l) => lineRe(app, 'unhealthy: .*; starting (the half-open trial )?remedy').test(l) || lineRe(app, 'finishing a remedy interrupted').test(l)).length;
}

const squatterOurs: Fault = {
  name: 'squatter-ours',
  expected: 'squatter freed, healthy',
  async run(ctx) {
    const { pid, port } = await standard(ctx);
    const t0 = performance.now();
    await injectFault(port, 'squat');
    // The app's own detached child keeps the socket: ours to kill (it carries the app's PM2 marks).
    const squat = await waitFor('the squatter', () => holdersOf(port).find((h) => h.pid !== pid)?.pid, 5000, 5).catch(() => undefined);
    const id = squat ? identify(squat) : undefined;
    if (squat) ctx.rig.track(squat);
    const ms = await recoveredWithNewPid(ctx, port, pid, t0);
    const freed = id !== undefined && !isAlive(id);
    const notes = id ? [`squatter pid ${id.pid} ${freed ? 'freed' : 'still alive'}`] : ['no squatter seen'];
    return outcome({ recovered: ms !== null, met: ms !== null && freed, healthyMs: ms, t0, notes, ours: { min: 1, max: 3 } });
  },
};

/**
 * A squatter the monitor must refuse and report, which the harness removes: the app must be
 * healthy after. `arm` starts it (armed, bound right after the app is SIGKILLed).
 */
async function refusedSquatter(ctx: FaultContext, kind: string, arm: (port: number) => Promise<{ id: ProcIdentity; fire(): void; bound: Promise<string>; end(): void }>): Promise<FaultOutcome> {
  const { rig } = ctx;
  // Failed remedies (the port stays held) must not open the circuit before the harness steps in.
  const { pid, port } = await standard(ctx, {}, { max_restart_failures: 50 });
  const s = await arm(port);
  rig.markForeign(s.id, kind);
  const t0 = performance.now();
  process.kill(pid, 'SIGKILL');
  s.fire();
  const bound = await Promise.race([s.bound, sleep(5000).then(() => 'timeout')]);
  const notes: string[] = [];
  if (bound !== 'listening') {
    s.end();
    return outcome({ recovered: false, met: false, healthyMs: null, t0, notes: [`the ${kind} did not bind the port (${bound})`], ours: { min: 0, max: 99 } });
  }
  const reported = await waitFor(`the refusal of pid ${s.id.pid}`, () => rig.killLog().find((e) => e.outcome === 'refused' && e.pid === s.id.pid), ctx.deadlineMs / 2, 100).catch(() => undefined);
  const aliveAtRemoval = isAlive(s.id);
  notes.push(reported ? `refused (rule ${reported.rule ?? '?'})` : 'no refusal in the kill log');
  if (!aliveAtRemoval) notes.push(`the ${kind} was gone before the harness removed it`);
  s.end();
  await waitFor('the squatter gone', () => !isAlive(s.id), 5000, 20).catch(() => undefined);
  const ms = await recoveredWithNewPid(ctx, port, pid, t0);
  return outcome({ recovered: ms !== null, met: ms !== null && reported !== undefined && aliveAtRemoval, healthyMs: ms, t0, notes, ours: { min: 0, max: 99 } });
}

function otherUserSquatter(name: string, inAppCwd: boolean): Fault {
  return {
    name,
    needsRoot: true,
    expected: `another user's squatter${inAppCwd ? " in the app's cwd" : ''}: never killed, reported; healthy once removed`,
    run: (ctx) =>
      refusedSquatter(ctx, "another user's squatter", async (port) => {
        const u = ctx.user!;
        const sq = await armSquatter(port, inAppCwd ? ctx.appDir : '/', { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, {
          prefix: ['setpriv', '--reuid', String(u.uid), '--regid', String(u.gid), '--clear-groups', '--'],
          retryMs: 200,
        });
        const id = identify(sq.pid);
        if (!id) throw new Error('the squatter died at once');
        return { id, fire: sq.fire, bound: sq.outcome, end: () => endSquatter(sq) };
      }),
  };
}

/** A second PM2 app whose child binds the app's port the moment it is free (and keeps it). */
const otherAppChild: Fault = {
  name: 'other-app-child',
  expected: "another PM2 app's child on the port: never killed, reported; healthy once removed",
  run: (ctx) =>
    refusedSquatter(ctx, "another PM2 app's child", async (port) => {
      const { rig } = ctx;
      const script = join(rig.home, 'neighbor.cjs');
      const childCode = `const s=require('net').createServer();const t=()=>s.listen(${port},'127.0.0.1');s.on('error',()=>setTimeout(t,2));s.on('listening',()=>console.log('listening'));process.on('SIGUSR2',t);setInterval(()=>{},60000);`;
      writeFileSync(script, [
        "const { spawn } = require('child_process');",
        `const c = spawn(process.execPath, ['-e', ${JSON.stringify(childCode)}], { stdio: ['ignore', 'inherit', 'inherit'] });`,
        "require('fs').writeFileSync(process.env.CHILD_PID_FILE, String(c.pid));",
        'setInterval(() => {}, 60000);',
        '',
      ].join('\n'));
      const pidFile = join(rig.home, 'neighbor-child.pid');
      await rig.startApps([{ name: 'hd-neighbor', script, cwd: rig.home, env: { CHILD_PID_FILE: pidFile }, autorestart: false }]);
      const childPid = await waitFor('the neighbor child', () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0), 10_000);
      const neighbor = await rig.info('hd-neighbor');
      if (neighbor?.pid) {
        const nid = identify(neighbor.pid);
        if (nid) rig.markForeign(nid, 'the neighbor PM2 app');
      }
      const id = identify(childPid);
      if (!id) throw new Error('the neighbor child died at once');
      // It retries every 2 ms from now on: it binds as soon as the app lets the port go.
      return {
        id,
        fire: () => void process.kill(childPid, 'SIGUSR2'),
        bound: waitFor('the child listening', () => (holdersOf(port).some((h) => h.pid === childPid) ? 'listening' : undefined), 5000, 2).catch(() => 'lost'),
        end: () => void killIdentified(id),
      };
    }),
};

const trickle: Fault = {
  name: 'trickle-health',
  expected: 'a /health that trickles bytes: the check ends at its deadline; healthy through us',
  async run(ctx) {
    const { rig } = ctx;
    const { pid, port } = await standard(ctx);
    const t0 = performance.now();
    await injectFault(port, 'trickle');
    // A dry-run check probes without the lock: it must end at the probe's deadline, unhealthy.
    const dry = await rig.checkOnce(['--dry-run'], 30_000);
    const bound = rig.pace.timeoutMs + 3000;
    const notes = [`check --dry-run: exit ${dry.code} after ${(dry.ms / 1000).toFixed(2)} s (timeout ${rig.pace.timeout})`];
    const ms = await recoveredWithNewPid(ctx, port, pid, t0);
    const timedOut = rig.monitorLog().some((l) => lineRe(APP, `.*no answer within ${rig.pace.timeoutMs} ms`).test(l));
    if (!timedOut) notes.push('no timeout logged by the monitor');
    return outcome({ recovered: ms !== null, met: ms !== null && dry.code === 1 && dry.ms <= bound && timedOut, healthyMs: ms, t0, notes, ours: { min: 1, max: 1 } });
  },
};

const daemonKill: Fault = {
  name: 'daemon-kill',
  expected: 'PM2 daemon SIGKILLed: resurrected, one daemon, all apps healthy',
  async run(ctx) {
    const { rig } = ctx;
    const [p1, p2] = [ctx.ports[0]!, ctx.ports[1]!];
    await rig.startApps([exampleApp(ctx, APP, p1), exampleApp(ctx, 'hd-app-2', p2)]);
    await healthyPid(ctx, p1);
    await healthyPid(ctx, p2);
    await rig.pm2(['save']);
    rig.writeConfig(rig.baseConfig([rig.appBlock(APP, p1), rig.appBlock('hd-app-2', p2)], { supervisor: { resurrect: 'auto' } }));
    const started = await startRunOrConfigError(rig, [APP, 'hd-app-2']);
    if (typeof started === 'string') return outcome({ recovered: false, met: false, healthyMs: null, t0: performance.now(), notes: [started], ours: { min: 0, max: 99 } });
    rig.startTimer();
    const god = rig.daemonPid();
    if (!god) throw new Error('no PM2 daemon pid');
    const t0 = performance.now();
    process.kill(god, 'SIGKILL');
    // Never call the pm2 CLI before a daemon is back: it would start one itself.
    const back = await waitFor('a new PM2 daemon', () => rig.gods().find((p) => p !== god), ctx.deadlineMs, 50).catch(() => undefined);
    const notes: string[] = [];
    if (!back) {
      const pidFile = rig.daemonPid();
      const seen = `pid file ${pidFile ?? 'none'}${pidFile ? ` (${commandOf(pidFile) || 'not running'})` : ''}; titled daemons ${rig.gods().join(',') || 'none'}`;
      return outcome({ recovered: false, met: false, healthyMs: null, t0, notes: [`no PM2 daemon came back: ${seen}`], ours: { min: 0, max: 99 } });
    }
    rig.track(back);
    notes.push(`daemon back after ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    const all = await waitFor('every app online and healthy', async () => {
      const list = await rig.list();
      const ok = await Promise.all([[APP, p1], ['hd-app-2', p2]].map(async ([name, port]) => {
        const p = list.find((x) => x.name === name);
        if (p?.status !== 'online') return false;
        return (await rig.waitHealthy(port as number, t0, performance.now() + 300, (pid) => pid === p.pid)) !== null;
      }));
      return ok.every(Boolean);
    }, Math.max(1000, t0 + ctx.deadlineMs - performance.now()), 100).catch(() => false);
    const ms = all ? performance.now() - t0 : null;
    const gods = rig.gods();
    notes.push(`${gods.length} PM2 daemon(s) for this PM2_HOME`);
    return outcome({ recovered: ms !== null, met: ms !== null && gods.length === 1, healthyMs: ms, t0, notes, ours: { min: 0, max: 2 } });
  },
};

/** Start `run`; a config the monitor refuses (a key it does not know yet) is said, not thrown. */
async function startRunOrConfigError(rig: Rig, apps: readonly string[]): Promise<true | string> {
  try {
    await rig.startRun(apps);
    return true;
  } catch (err) {
    const tail = rig.monitor?.lines.slice(-3).map((l) => l.text).join(' | ') ?? '';
    return `run did not start: ${(err as Error).message.slice(0, 120)}; ${tail.slice(0, 300)}`;
  }
}

const monitorKill: Fault = {
  name: 'monitor-kill',
  expected: 'monitor SIGKILLed mid-remedy, in the kill grace of a squatter ignoring SIGTERM: the app is not left stopped',
  async run(ctx) {
    const { rig } = ctx;
    const grace = ctx.quick ? 4 : 6;
    const { pid, port } = await standard(ctx, {}, { kill_grace: `${grace}s`, max_restart_failures: 10 });
    // Ours to kill (same user, in the app's cwd, no PM2 marks), but it ignores SIGTERM.
    const sq = await armSquatter(port, ctx.appDir, rig.env, { ignoreTerm: true, retryMs: 200 });
    const sid = rig.track(sq.pid);
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    sq.fire();
    const notes: string[] = [];
    const term = await waitFor('the SIGTERM to the squatter', () => rig.killLog().find((e) => e.pid === sq.pid && e.signal === 'SIGTERM' && e.outcome === 'sent'), ctx.deadlineMs / 2, 20).catch(() => undefined);
    if (!term) {
      endSquatter(sq);
      return outcome({ recovered: false, met: false, healthyMs: null, t0, notes: ['the monitor never sent SIGTERM to the squatter'], ours: { min: 1, max: 99 } });
    }
    // Mid-remedy: the app is stopped through PM2, the squatter's grace is running.
    rig.monitor?.child.kill('SIGKILL');
    const killedAt = performance.now();
    notes.push(`run SIGKILLed ${((killedAt - t0) / 1000).toFixed(1)} s after the fault, in the kill grace (door ${term.door ?? '?'})`);
    const ms = await recoveredWithNewPid(ctx, port, pid, t0);
    const info = await rig.info(APP);
    const resumed = rig.monitorLog().some((l) => lineRe(APP, 'finishing a remedy interrupted').test(l));
    notes.push(resumed ? 'the next check finished the journaled remedy' : 'no resume logged');
    notes.push(`PM2 says ${info?.status ?? 'nothing'}; squatter ${sid && isAlive(sid) ? 'alive' : 'gone'}`);
    endSquatter(sq);
    return outcome({ recovered: ms !== null, met: ms !== null && info?.status === 'online', healthyMs: ms, t0, notes, ours: { min: 1, max: 3 } });
  },
};

const corruptState: Fault = {
  name: 'corrupt-state',
  expected: 'corrupt state file: starts, warns once, keeps a copy',
  async run(ctx) {
    const { rig } = ctx;
    const port = ctx.ports[0]!;
    await rig.startApps([exampleApp(ctx, APP, port)]);
    await healthyPid(ctx, port);
    mkdirSync(rig.stateDir, { recursive: true, mode: 0o700 });
    const garbage = '{"version": 1, "apps": {"hd-app": [garbage \u0000\u0001 not json\n';
    writeFileSync(join(rig.stateDir, 'state.json'), garbage, { mode: 0o600 });
    rig.writeConfig(rig.baseConfig([rig.appBlock(APP, port)]));
    const t0 = performance.now();
    await rig.startRun([APP]);
    rig.startTimer();
    // Let the timer's checks run too (they must not warn again: they stop at the lock).
    await sleep(rig.pace.timerMs * 2 + 500);
    const warns = rig.monitorLog().filter((l) => /state/i.test(l) && /corrupt/i.test(l) && /\bwarn/i.test(l));
    const copies = readdirSync(rig.stateDir).filter((f) => f.startsWith('state.json.corrupt-'));
    const kept = copies.some((f) => readFileSync(join(rig.stateDir, f), 'utf8') === garbage);
    const healthy = (await rig.waitHealthy(port, t0, performance.now() + 2000)) !== null;
    const notes = [`${warns.length} warning(s)`, kept ? `copy kept (${copies[0]})` : `no copy with the original bytes (${copies.join(', ') || 'none'})`];
    return outcome({ recovered: healthy && rig.monitor?.running === true, met: healthy && warns.length === 1 && kept, healthyMs: null, t0, notes, ours: { min: 0, max: 0 } });
  },
};

const badReload: Fault = {
  name: 'bad-config-reload',
  expected: 'invalid config + SIGHUP: the last good config keeps working (a hang is still healed)',
  async run(ctx) {
    const { rig } = ctx;
    const { pid, port } = await standard(ctx);
    const mark = rig.monitor!.mark();
    writeFileSync(rig.configPath, 'apps:\n  - name: hd-app\n    health: { interval: -5 }\n    ports: [not-a-port\n');
    rig.monitor!.child.kill('SIGHUP');
    const rejected = await rig.monitor!.waitFor(/config reload rejected, keeping the last good config/, 10_000, mark).then(() => true, () => false);
    const t0 = performance.now();
    await injectFault(port, 'hang');
    const ms = await recoveredWithNewPid(ctx, port, pid, t0);
    const notes = [rejected ? 'reload rejected, last good kept' : 'no rejection logged'];
    return outcome({ recovered: ms !== null, met: ms !== null && rejected && rig.monitor!.running, healthyMs: ms, t0, notes, ours: { min: 1, max: 1 } });
  },
};

const webhookDown: Fault = {
  name: 'webhook-down',
  expected: "webhook receiver down: other apps' checks not delayed; delivery retried, then dropped with a log line",
  async run(ctx) {
    const { rig } = ctx;
    const [p1, p2, closed, hangPort] = [ctx.ports[0]!, ctx.ports[1]!, ctx.ports[2]!, ctx.ports[3]!];
    if (holdersOf(closed).length > 0) throw new Error(`port ${closed} is in use: it must be closed for this row`);
    // Down two ways: nothing listens (refused at once), and a receiver that accepts and never
    // answers (each attempt costs the whole notify timeout: a delivery in a check's way would show).
    const hanging = await startReceiver(hangPort, { hang: true });
    rig.onCleanup(() => hanging.close());
    // The other app records when each probe arrives.
    const stamps = join(rig.home, 'probes.txt');
    const recorder = join(rig.home, 'recorder.cjs');
    writeFileSync(recorder, [
      "const fs = require('fs');",
      "require('http').createServer((req, res) => { if (req.url === '/health') fs.appendFileSync(process.env.STAMPS, Date.now() + '\\n'); res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ status: 'ok', pid: process.pid })); })",
      "  .listen(Number(process.env.PORT), '127.0.0.1');",
      '',
    ].join('\n'));
    await rig.startApps([exampleApp(ctx, APP, p1), { name: 'hd-other', script: recorder, cwd: rig.home, env: { PORT: String(p2), STAMPS: stamps } }]);
    const pid = await healthyPid(ctx, p1);
    await healthyPid(ctx, p2);
    rig.writeConfig(rig.baseConfig([rig.appBlock(APP, p1), rig.appBlock('hd-other', p2)], {
      notify: [{ url: `http://127.0.0.1:${closed}/hook`, format: 'json', timeout: '1s' }, { url: hanging.url('/hook'), format: 'json', timeout: '1s' }],
    }));
    await rig.startRun([APP, 'hd-other']);
    rig.startTimer();
    const t0 = performance.now();
    const wall0 = Date.now();
    await injectFault(p1, 'hang');
    const ms = await recoveredWithNewPid(ctx, p1, pid, t0);
    const drops = (): string[] => rig.monitorLog().filter((l) => /notification to .* failed after \d+ attempts/.test(l));
    // One drop per target: the refused one and the hanging one (labels differ by port).
    const bothDropped = await waitFor('a dropped notification per target', () => [closed, hangPort].every((p) => drops().some((l) => l.includes(`:${p}`))), 40_000, 100).catch(() => false);
    const dropped = drops().find((l) => l.includes(`:${hangPort}`)) ?? drops()[0];
    const wall1 = Date.now();
    const times = readFileSync(stamps, 'utf8').split('\n').filter(Boolean).map(Number).filter((t) => t >= wall0 - 5000 && t <= wall1);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    const maxGap = gaps.length ? Math.max(...gaps) : Infinity;
    const intervalMs = Number.parseFloat(rig.pace.interval) * 1000;
    const notes = [
      bothDropped ? `dropped by both receivers (refused, hanging): ${/failed after \d+ attempts/.exec(dropped ?? '')?.[0] ?? ''}` : `drops logged: ${drops().length} of 2`,
      `other app: ${times.length} probes, largest gap ${(maxGap / 1000).toFixed(2)} s (interval ${rig.pace.interval})`,
    ];
    const attempts = Number(/failed after (\d+) attempts/.exec(dropped ?? '')?.[1] ?? 0);
    return outcome({ recovered: ms !== null, met: ms !== null && bothDropped === true && attempts > 1 && maxGap <= intervalMs * 1.5 + 500, healthyMs: ms, t0, notes, ours: { min: 1, max: 1 } });
  },
};

/** Every fault, in the order the run takes them. */
export const FAULTS: readonly Fault[] = [
  sigkill, sigstop, busyLoop, crashLoop, squatterOurs,
  otherUserSquatter('squatter-other-user', false), otherUserSquatter('squatter-other-user-cwd', true),
  otherAppChild, trickle, daemonKill, monitorKill, corruptState, badReload, webhookDown,
];
