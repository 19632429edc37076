/**
 * The lab shared by the demo and the benchmark: an isolated PM2 daemon (test/helpers/sandbox:
 * temp PM2_HOME, PM2_DISCRETE_MODE etc. set before pm2 is loaded), the example app under it,
 * the real monitor as a child, and ONE cleanup that runs on success, on errors and on
 * SIGINT/SIGTERM: stop the monitor, SIGCONT what we froze, disconnect, `pm2 kill`, end the holders
 * of our own ports (squatters), remove the temp dir. Nothing outside what we started is touched.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { createSandbox, exampleApp, type Sandbox } from '../../test/helpers/sandbox.js';
import type { ProcessInfo } from '../../src/pm2/adapter.js';
import { daemonPidOf } from '../../src/proc/guard.js';
import { getHealth, waitForNewPid } from './health.js';
import { MonitorChild, type MonitorChildOptions } from './monitor-child.js';
import { killPortHolders, type Holder } from './ports.js';

export interface MonitorSettings {
  readonly interval: string;
  readonly timeout: string;
  readonly failureThreshold: number;
  readonly startupGrace: string;
}

export interface LabApp {
  readonly name: string;
  readonly port: number;
}

/** Running (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

export class Lab {
  sb: Sandbox | undefined;
  monitor: MonitorChild | undefined;
  /** Set once an interrupt or a fatal error started the cleanup: waits should give up quietly. */
  readonly abort = new AbortController();
  /** A SIGINT/SIGTERM arrived: its handler cleans up and exits, the main flow should only stop. */
  signalled = false;
  private readonly ports = new Set<number>();
  private readonly frozen = new Set<number>();
  private opening: Promise<Sandbox> | undefined;
  private cleaning: Promise<string[]> | undefined;

  constructor(
    private readonly label: string,
    private readonly say: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  ) {}

  get interrupted(): boolean {
    return this.abort.signal.aborted;
  }

  /** Create the isolated PM2 home and spawn its daemon. */
  async open(): Promise<Sandbox> {
    this.opening = createSandbox(this.label);
    this.sb = await this.opening;
    return this.sb;
  }

  get home(): string {
    if (!this.sb) throw new Error('the lab is not open');
    return this.sb.home;
  }

  /** Start the example app (FAULTS=1) on `port` under PM2, with its own log files. */
  async startApp(app: LabApp, extra: Record<string, unknown> = {}): Promise<void> {
    if (!this.sb) throw new Error('the lab is not open');
    this.ports.add(app.port);
    await this.sb.start({
      ...exampleApp(app.name, app.port),
      out_file: this.outLog(app.name),
      error_file: this.errLog(app.name),
      ...extra,
    });
  }

  outLog(name: string): string {
    return join(this.home, 'logs', `${name}-out.log`);
  }

  errLog(name: string): string {
    return join(this.home, 'logs', `${name}-error.log`);
  }

  /** The app's single PM2 instance. */
  async info(name: string): Promise<ProcessInfo> {
    const p = await this.sb?.info(name);
    if (!p) throw new Error(`PM2 does not know ${name}`);
    return p;
  }

  /** Write the monitor's YAML config into the lab's home. */
  writeConfig(apps: readonly LabApp[], s: MonitorSettings): string {
    const file = join(this.home, 'monitor.yaml');
    const doc = {
      apps: apps.map((a) => ({
        name: a.name,
        health: { url: `http://127.0.0.1:${a.port}/health`, interval: s.interval, timeout: s.timeout, failure_threshold: s.failureThreshold },
        startup_grace: s.startupGrace,
        ports: [a.port],
      })),
    };
    writeFileSync(file, YAML.stringify(doc));
    return file;
  }

  /** Start the real CLI monitor against this lab's daemon. */
  startMonitor(configPath: string, options: Omit<MonitorChildOptions, 'configPath' | 'env'> = {}): MonitorChild {
    if (!this.sb) throw new Error('the lab is not open');
    this.monitor = new MonitorChild({ configPath, env: this.sb.env, ...options });
    return this.monitor;
  }

  /** SIGSTOP a pid (remembered so cleanup can SIGCONT it). */
  freeze(pid: number): void {
    process.kill(pid, 'SIGSTOP');
    this.frozen.add(pid);
  }

  thaw(pid: number): void {
    this.frozen.delete(pid);
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone (the monitor killed it)
    }
  }

  /** End every holder of these (lab) ports except `keep` and the daemon: squatters left by a trial. */
  async killSquatters(ports: readonly number[], keep: readonly number[] = []): Promise<Holder[]> {
    const daemon = this.daemonPid();
    const mine = ports.filter((p) => this.ports.has(p));
    return killPortHolders(mine, [...keep, ...(daemon ? [daemon] : [])]);
  }

  /**
   * Wait until the app is online in PM2, up for at least `minUptimeMs`, answers 200 on /health
   * and (when given) the monitor's last logged phase for it is healthy. Returns the serving pid.
   */
  async settle(app: LabApp, o: { minUptimeMs: number; monitor?: MonitorChild; timeoutMs?: number; onWait?: (status: string) => void }): Promise<number> {
    const until = performance.now() + (o.timeoutMs ?? 30_000);
    for (;;) {
      if (this.interrupted) throw new Error('interrupted');
      if (o.monitor && !o.monitor.running) throw new Error(`the monitor exited (${o.monitor.describeExit()})`);
      const info = await this.info(app.name);
      const uptime = Date.now() - info.startedAt;
      const h = info.status === 'online' ? await getHealth(app.port, 500) : { status: 0 };
      const phase = o.monitor?.phases.get(app.name);
      if (info.status === 'online' && uptime >= o.minUptimeMs && h.status === 200 && h.pid !== undefined && (!o.monitor || phase === 'healthy')) return h.pid;
      if (performance.now() > until) {
        throw new Error(`${app.name} did not settle: PM2 ${info.status}, up ${uptime} ms, /health ${h.status}${o.monitor ? `, monitor says ${phase ?? '?'}` : ''}`);
      }
      o.onWait?.(`app ${info.status}, up ${(uptime / 1000).toFixed(1)} s${o.monitor ? `, monitor says ${phase ?? '?'}` : ''}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** `pm2 restart` the app (by pm_id) and wait for a 200 from its new pid. */
  async restartApp(app: LabApp, capMs = 20_000): Promise<number> {
    if (!this.sb) throw new Error('the lab is not open');
    const info = await this.info(app.name);
    const t0 = performance.now();
    await this.sb.pm2.act('restart', info.pmId);
    const rec = await waitForNewPid(app.port, info.pid, { t0, capMs, pollMs: 20, signal: this.abort.signal });
    if (!rec) throw new Error(`${app.name} did not come back within ${capMs} ms of a restart`);
    return rec.pid;
  }

  daemonPid(): number | undefined {
    return daemonPidOf(this.home);
  }

  /**
   * Cleanup, once (later calls share the first run). Returns notes on what it did. Never throws.
   */
  cleanup(): Promise<string[]> {
    this.abort.abort();
    this.cleaning ??= this.doCleanup();
    return this.cleaning;
  }

  /** SIGINT/SIGTERM: clean up, then exit 130/143. A second signal exits at once. */
  installSignalHandlers(): void {
    let seen = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      const code = sig === 'SIGINT' ? 130 : 143;
      if (seen) {
        this.say(`\n${sig} again: exiting without finishing the cleanup (PM2_HOME ${this.sb?.home ?? '?'})`);
        process.exit(code);
      }
      seen = true;
      this.signalled = true;
      this.say(`\n${sig}: stopping and cleaning up...`);
      void this.cleanup().then((notes) => {
        for (const n of notes) this.say(`  cleanup: ${n}`);
        process.exit(code);
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  private async doCleanup(): Promise<string[]> {
    const notes: string[] = [];
    const step = async (what: string, run: () => Promise<string | undefined> | string | undefined): Promise<void> => {
      try {
        const note = await run();
        if (note) notes.push(note);
      } catch (err) {
        notes.push(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    if (!this.sb && this.opening) {
      // interrupted while the daemon was being spawned: let that finish, then tear it down
      this.sb = await this.opening.catch(() => undefined);
    }
    const sb = this.sb;

    await step('stopping the monitor', async () => {
      const m = this.monitor;
      if (!m?.running) return undefined;
      await m.stop();
      return `monitor (pid ${m.pid}) stopped: ${m.describeExit()}`;
    });
    for (const pid of this.frozen) this.thaw(pid);
    if (!sb) return notes;

    const daemon = this.daemonPid();
    let appPids: number[] = [];
    await step('listing apps', async () => {
      appPids = (await Promise.race([sb.list(), new Promise<ProcessInfo[]>((r) => setTimeout(() => r([]), 3000))])).map((p) => p.pid).filter((p) => p > 0);
      return undefined;
    });
    await step('pm2 kill', async () => {
      await sb.teardown(); // disconnect first, then `pm2 kill` with PM2_HOME set, then rm -rf the home
      return `PM2 daemon${daemon ? ` (pid ${daemon})` : ''} killed, ${sb.home} removed`;
    });
    await step('leftovers', async () => {
      // If `pm2 kill` failed, end the daemon and the apps we started, by pid and only if they are still ours.
      const left: number[] = [];
      if (daemon && alive(daemon) && cmdline(daemon).includes('PM2')) left.push(daemon);
      for (const pid of appPids) if (alive(pid) && cmdline(pid).includes('helpdesk-backend')) left.push(pid);
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      const squatters = await killPortHolders([...this.ports]);
      const parts = [
        ...(left.length ? [`killed leftover pids ${left.join(', ')}`] : []),
        ...squatters.map((h) => `ended pid ${h.pid} still holding port ${h.port}`),
      ];
      if (existsSync(sb.home)) parts.push(`could not remove ${sb.home}`);
      return parts.length ? parts.join('; ') : undefined;
    });
    return notes;
  }
}
