/**
 * One row of the chaos run: a fresh PM2_HOME with its own daemon (driven through the pm2 CLI, so
 * every row is isolated from the others and from the harness), the apps, the monitor in `run`
 * mode, `check` invoked as a timer would, a health poller, and one cleanup that ends everything
 * the row started and then looks for leftovers: a pid the row started that still runs, or any
 * process whose command line or environment names the row's PM2_HOME. Nothing else is touched.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { MonitorChild } from '../../bench/lib/monitor-child.js';
import { memoryOf } from '../../bench/lib/proc.js';
import { getHealth } from '../../bench/lib/health.js';
import { cliEnv } from '../helpers/cli.js';
import { commandOf, isAlive, PidLedger, type ProcIdentity } from '../helpers/holders.js';
import { CLI, PM2_BIN } from '../helpers/sandbox.js';
import { readKillLog, type KillLogEntry } from '../../src/ports/kill-log.js';
import { daemonPidOf } from '../../src/proc/guard.js';

export interface Pm2Proc {
  readonly name: string;
  readonly pmId: number;
  readonly pid: number;
  readonly status: string;
  readonly restarts: number;
}

export interface CheckRun {
  readonly at: number;
  readonly code: number | null;
  readonly ms: number;
}

/** Settings that differ between `--quick` and a full run. */
export interface Pace {
  /** The monitor's health interval, timeout, failure threshold. */
  readonly interval: string;
  readonly timeout: string;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  /** How often `check` runs, as the timer would. */
  readonly timerMs: number;
}

/** A process the harness started as someone else's: the monitor must never signal it. */
export interface Foreign extends ProcIdentity {
  readonly what: string;
}

export class Rig {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stateDir: string;
  readonly ledger = new PidLedger();
  /** Every pid the row started (its identity), to check none outlives the row. */
  private readonly started: (ProcIdentity & { command: string })[] = [];
  readonly foreign: Foreign[] = [];
  readonly checks: CheckRun[] = [];
  monitor: MonitorChild | undefined;
  /** The monitor's RSS (KiB) once it had looked at every app. */
  rssAtStart: number | undefined;
  configPath = '';
  private timer: NodeJS.Timeout | undefined;
  private timerRuns = new Set<ChildProcess>();
  private frozen = new Set<number>();
  readonly notes: string[] = [];
  private readonly cleanups: (() => Promise<void> | void)[] = [];

  constructor(
    readonly runDir: string,
    readonly label: string,
    readonly pace: Pace,
  ) {
    this.home = mkdtempSync(join(runDir, `home-${label}-`));
    mkdirSync(join(this.home, 'tmp'));
    this.stateDir = join(this.home, 'helpdesk-monitor');
    this.env = cliEnv({
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/root',
      PM2_HOME: this.home,
      PM2_DISCRETE_MODE: 'true',
      PM2_DISABLE_VERSION_CHECK: 'true',
      TMPDIR: join(this.home, 'tmp'),
    });
  }

  /** Something of the harness's own to close at cleanup (a receiver), after the monitor stopped. */
  onCleanup(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  /** Remember a pid the row started (for cleanup and the leftover check). */
  track(pid: number | undefined): ProcIdentity | undefined {
    if (!pid) return undefined;
    const id = this.ledger.add(pid);
    if (id) this.started.push({ ...id, command: commandOf(pid) });
    return id;
  }

  markForeign(id: ProcIdentity, what: string): void {
    this.foreign.push({ ...id, what });
    this.track(id.pid);
  }

  /** Run the pm2 CLI against this row's home. */
  pm2(args: readonly string[], timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(process.execPath, [PM2_BIN, ...args], { env: this.env, timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`pm2 ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
  }

  async list(): Promise<Pm2Proc[]> {
    const out = await this.pm2(['jlist']);
    const start = out.indexOf('[');
    const raw = JSON.parse(start >= 0 ? out.slice(start) : '[]') as { name: string; pm_id: number; pid: number; pm2_env: { status: string; restart_time: number } }[];
    return raw.map((p) => ({ name: p.name, pmId: p.pm_id, pid: p.pid, status: p.pm2_env.status, restarts: p.pm2_env.restart_time }));
  }

  async info(name: string): Promise<Pm2Proc | undefined> {
    return (await this.list()).find((p) => p.name === name);
  }

  /** Start apps (PM2 app options) through an ecosystem file; the daemon starts with the first. */
  async startApps(apps: readonly Record<string, unknown>[]): Promise<void> {
    const file = join(this.home, `eco-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ apps }));
    await this.pm2(['start', file]);
    const daemon = this.daemonPid();
    if (daemon) this.track(daemon);
  }

  daemonPid(): number | undefined {
    return daemonPidOf(this.home);
  }

  /**
   * PM2 God daemons of this home: PM2's title (`PM2 v7.0.4: God Daemon (<home>)`) with this home,
   * or a God title cut short (Linux keeps a title within the length of the process's original
   * argv, so a long PM2_HOME is cut off) and PM2_HOME=<home> in its environment.
   */
  gods(): number[] {
    return scanProc()
      .filter((p) => /^PM2 v\S*: God Daemon \(/.test(p.cmdline) && (p.cmdline.includes(`(${this.home})`) || p.environ.includes(`PM2_HOME=${this.home}\0`)))
      .map((p) => p.pid);
  }

  /** Write the monitor's config (YAML) and return its path. */
  writeConfig(doc: unknown): string {
    const dir = join(this.home, 'cfg');
    mkdirSync(dir, { recursive: true });
    this.configPath = join(dir, 'monitor.yaml');
    writeFileSync(this.configPath, typeof doc === 'string' ? doc : YAML.stringify(doc));
    return this.configPath;
  }

  /** The monitor config every row starts from: the pace's probe settings, our state dir. */
  baseConfig(apps: readonly Record<string, unknown>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      log: { level: 'info' },
      reconcile_interval: '5s',
      defaults: { restart_delay: '1s', backoff: { factor: 2, max: '4s', jitter: 0.1 } },
      ...extra,
      apps,
    };
  }

  /** An app block for the monitor watching the example app on `port`. */
  appBlock(name: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      name,
      health: { url: `http://127.0.0.1:${port}/health`, interval: this.pace.interval, timeout: this.pace.timeout, failure_threshold: this.pace.failureThreshold },
      ports: [port],
      startup_grace: '3s',
      kill_grace: '1s',
      verify_timeout: '15s',
      ...extra,
    };
  }

  /** Start `run` and wait until it has looked at every app once. */
  async startRun(apps: readonly string[]): Promise<MonitorChild> {
    const m = new MonitorChild({ configPath: this.configPath, env: this.env });
    this.monitor = m;
    this.track(m.pid);
    try {
      for (const a of apps) await m.waitFor(new RegExp(`\\[${esc(a)}\\] \\w+ -> healthy`), 20_000, 0);
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${m.lines.slice(-4).map((l) => l.text).join(' | ')}`, { cause: err });
    }
    this.rssAtStart = this.monitorRss();
    return m;
  }

  /** `check` every timerMs, as a systemd timer would (exit 3 while `run` holds the lock). */
  startTimer(): void {
    const tick = (): void => {
      const t0 = performance.now();
      const child = spawn(process.execPath, [CLI, 'check', '--config', this.configPath], { env: this.env, stdio: 'ignore' });
      this.track(child.pid);
      this.timerRuns.add(child);
      // A check has its own deadline; this one is the harness's, far above it.
      const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('exit', (code) => {
        clearTimeout(kill);
        this.timerRuns.delete(child);
        this.checks.push({ at: t0, code, ms: performance.now() - t0 });
      });
      this.timer = setTimeout(tick, this.pace.timerMs);
    };
    this.timer = setTimeout(tick, this.pace.timerMs);
  }

  /** Run `check` once to completion (extra args: --dry-run ...). */
  checkOnce(args: readonly string[] = [], timeoutMs = 60_000): Promise<CheckRun & { stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const child = execFile(process.execPath, [CLI, 'check', '--config', this.configPath, ...args], { env: this.env, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
        resolve({ at: t0, code, ms: performance.now() - t0, stdout, stderr });
      });
      this.track(child.pid);
    });
  }

  /** Freeze a pid (SIGSTOP); cleanup thaws it if it is still there. */
  freeze(pid: number): void {
    this.frozen.add(pid);
    process.kill(pid, 'SIGSTOP');
  }

  /** The monitor's log file (run and check both write it). */
  monitorLog(): string[] {
    try {
      return readFileSync(join(this.stateDir, 'monitor.log'), 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  /**
   * PM2's own restarts of `name`: starts in the daemon's log that no stop preceded (a stop is
   * ours, an operator's or a `pm2 restart`; a start after a bare exit is PM2's autorestart). The
   * first start of the app is not a restart.
   */
  pm2OwnRestarts(name: string): number {
    let text: string;
    try {
      text = readFileSync(join(this.home, 'pm2.log'), 'utf8');
    } catch {
      return 0;
    }
    const tag = new RegExp(`(App \\[${esc(name)}:\\d+\\] starting in)|(Stopping app:${esc(name)} id:)`);
    let starts = 0;
    let own = 0;
    let stopped = false;
    for (const line of text.split('\n')) {
      const m = tag.exec(line);
      if (!m) continue;
      if (m[2]) stopped = true;
      else {
        if (starts > 0 && !stopped) own++;
        starts++;
        stopped = false;
      }
    }
    return own;
  }

  killLog(): KillLogEntry[] {
    return readKillLog(join(this.stateDir, 'kills.jsonl'));
  }

  /** Signals the monitor sent to a process the harness marked foreign. */
  foreignKills(): KillLogEntry[] {
    return this.killLog().filter((e) => e.outcome === 'sent' && this.foreign.some((f) => f.pid === e.pid && (e.start_ticks === undefined || e.start_ticks === f.startTicks)));
  }

  /** The monitor's RSS now (KiB), if it runs. */
  monitorRss(): number | undefined {
    return this.monitor?.running ? memoryOf(this.monitor.pid)?.rssKiB : undefined;
  }

  /** Poll /health until `ok(pid)` holds for a 200, or the deadline; ms since t0, or null. */
  async waitHealthy(port: number, t0: number, deadline: number, ok: (pid: number) => boolean = () => true): Promise<number | null> {
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return null;
      const a = await getHealth(port, Math.max(50, Math.min(500, left)));
      if (a.status === 200 && a.pid !== undefined && ok(a.pid)) return performance.now() - t0;
      await sleep(25);
    }
  }

  /**
   * End everything the row started the way it is meant to end (`run` by SIGTERM, timer checks,
   * the daemon by `pm2 kill`), then look for leftovers: a pid the row started that still runs,
   * any process whose command line or environment names the row's PM2_HOME, a `run` that did
   * not exit on SIGTERM. Returns them (pid and command); they are ended after being named.
   */
  async cleanup(): Promise<string[]> {
    const leftovers: string[] = [];
    if (this.timer) clearTimeout(this.timer);
    for (const c of this.timerRuns) c.kill('SIGKILL');
    for (const pid of this.frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    const m = this.monitor;
    if (m?.running) {
      m.child.kill('SIGTERM');
      // `run` forces its own exit 10 s after a SIGTERM; later than that it is stuck.
      const end = await Promise.race([m.exited.then(() => 'exited'), sleep(12_000).then(() => 'stuck')]);
      if (end === 'stuck') leftovers.push(`pid ${m.pid} (run) did not exit within 12 s of SIGTERM`);
    }
    await this.pm2(['kill'], 30_000).catch(() => undefined);
    for (const fn of this.cleanups.splice(0)) await Promise.resolve(fn()).catch(() => undefined);
    await sleep(300);
    const seen = new Set<number>();
    for (const s of this.started) {
      if (isAlive(s) && !seen.has(s.pid)) {
        seen.add(s.pid);
        leftovers.push(`pid ${s.pid} (${commandOf(s.pid) || s.command}) started by the row`);
      }
    }
    for (const p of scanProc()) {
      if (seen.has(p.pid) || p.pid === process.pid) continue;
      if (p.cmdline.includes(this.home) || p.environ.includes(`PM2_HOME=${this.home}\0`)) {
        seen.add(p.pid);
        leftovers.push(`pid ${p.pid} (${p.cmdline.trim()}) names the row's PM2_HOME`);
        this.ledger.addIdentity({ pid: p.pid, startTicks: p.startTicks });
      }
    }
    this.ledger.killAll();
    rmSync(this.home, { recursive: true, force: true });
    return leftovers;
  }
}

/** A world-readable run dir with a copy of the example app (another user's squatter may chdir into it). */
export function makeRunDir(root: string, exampleApp: string): { dir: string; appDir: string; appScript: string } {
  const dir = mkdtempSync(join(root, 'hdm-chaos-'));
  chmodSync(dir, 0o755);
  const appDir = join(dir, 'app');
  mkdirSync(appDir, { mode: 0o755 });
  chmodSync(appDir, 0o755);
  const appScript = join(appDir, 'server.js');
  writeFileSync(appScript, readFileSync(exampleApp));
  writeFileSync(join(appDir, 'package.json'), '{"type":"module"}\n');
  return { dir, appDir, appScript };
}

interface ProcEntry {
  readonly pid: number;
  readonly cmdline: string;
  readonly environ: string;
  readonly startTicks: number;
}

/** Every process's command line, environment (where readable) and start time. */
export function scanProc(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmdline = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ');
      let environ = '';
      try {
        environ = readFileSync(`/proc/${e}/environ`, 'utf8');
      } catch {
        // another user's, without privileges
      }
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state[0] === 'Z') continue;
      out.push({ pid: Number(e), cmdline, environ, startTicks: Number(state[19]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
