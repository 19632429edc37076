/**
 * The monitor as an installed PM2 module, for the monitor-cost benchmark: `npm pack` of this
 * checkout, `pm2 set helpdesk-monitor:config <yaml>` then `pm2 install <abs tgz>` into the lab's
 * PM2_HOME (README, "As a PM2 module"), kept stopped between measurements (`pm2 stop`), and
 * started for one with `pm2 restart`. Its pid comes from `pm2 jlist` (pm2_env.pmx_module), its
 * log lines from PM2's log file for it.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PM2_BIN, ROOT, type Sandbox } from '../../test/helpers/sandbox.js';
import { isRunning, startTicksOf } from './proc.js';
import { PROBLEM, type Watcher } from './cost-targets.js';

export const MODULE = 'helpdesk-monitor';

interface Cli {
  readonly stdout: string;
  readonly stderr: string;
}

/** Our CLI children still running (their process groups: `pm2 install` starts npm below it). */
const running = new Set<number>();

function run(cmd: string, args: readonly string[], o: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }): Promise<Cli> {
  return new Promise((resolve, reject) => {
    // detached: its own process group, so an interrupted install can be ended with npm under it.
    const child = spawn(cmd, args, { env: o.env, cwd: o.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const pid = child.pid;
    if (pid) running.add(pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      try {
        if (pid) process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, o.timeoutMs);
    const fail = (why: string): void => reject(new Error(`${[cmd, ...args].join(' ')} ${why}\n${(stderr || stdout).trim().split('\n').slice(-8).join('\n')}`));
    child.once('error', (err) => {
      clearTimeout(timer);
      fail(`failed: ${err.message}`);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (pid) running.delete(pid);
      if (code === 0) resolve({ stdout, stderr });
      else fail(signal ? `ended by ${signal}${signal === 'SIGKILL' ? ` (timeout ${o.timeoutMs / 1000} s?)` : ''}` : `exited ${code}`);
    });
  });
}

/** SIGKILL the process groups of the CLI children still running (npm pack, pm2 install, ...); returns their pids. */
export function killRunningCli(): number[] {
  const hit: number[] = [];
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
      hit.push(pid);
    } catch {
      // gone
    }
  }
  running.clear();
  return hit;
}

interface ModuleProc {
  readonly pid: number;
  readonly status: string;
  readonly restarts: number;
  readonly outLog?: string;
}

export class ModuleHost {
  /** Every module pid seen (with its start time), so cleanup can end one `pm2 kill` missed. */
  readonly seen = new Map<number, number | undefined>();
  installMs = 0;
  tarball = '';
  private outLog = '';

  constructor(private readonly sb: Sandbox, private readonly say: (progress: string) => void) {}

  private pm2(args: readonly string[], timeoutMs = 60_000, extraEnv: NodeJS.ProcessEnv = {}): Promise<Cli> {
    return run(process.execPath, [PM2_BIN, ...args], { env: { ...this.sb.env, ...extraEnv }, timeoutMs });
  }

  /** The module's entry in `pm2 jlist` (pm2_env.pmx_module true), if any. */
  async find(): Promise<ModuleProc | undefined> {
    const { stdout } = await this.pm2(['jlist']);
    const list = JSON.parse(stdout.slice(stdout.indexOf('['))) as { name?: string; pid?: number; pm2_env?: Record<string, unknown> }[];
    const p = list.find((x) => x.pm2_env?.['pmx_module'] === true && x.name === MODULE);
    if (!p) return undefined;
    const env = p.pm2_env ?? {};
    const outLog = typeof env['pm_out_log_path'] === 'string' ? env['pm_out_log_path'] : undefined;
    if (p.pid) this.seen.set(p.pid, startTicksOf(p.pid));
    return { pid: p.pid ?? 0, status: String(env['status']), restarts: Number(env['restart_time'] ?? 0), ...(outLog ? { outLog } : {}) };
  }

  /** Pack, set the config path, install, wait for it online, stop it. */
  async install(configPath: string, packDir: string): Promise<void> {
    const t0 = performance.now();
    this.say('npm pack');
    // `npm run bench:cost` has just built dist/: skip prepack's second build.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], { env: this.sb.env, timeoutMs: 120_000 });
    this.tarball = join(packDir, packed.stdout.trim().split('\n').at(-1)!);
    await this.pm2(['set', `${MODULE}:config`, configPath]);
    const ticker = setInterval(() => this.say(`pm2 install ${this.tarball} (npm install, ${((performance.now() - t0) / 1000).toFixed(0)} s)`), 5000);
    try {
      this.say(`pm2 install ${this.tarball}`);
      // The dependencies come from npm's cache when it has them (the checkout was installed with npm ci).
      await this.pm2(['install', this.tarball], 300_000, {
        npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false',
      });
    } finally {
      clearInterval(ticker);
    }
    const p = await this.waitOnline(30_000);
    this.outLog = p.outLog ?? join(this.sb.home, 'logs', `${MODULE}-out.log`);
    await this.stop();
    this.installMs = performance.now() - t0;
  }

  private async waitOnline(timeoutMs: number, notPid = 0): Promise<ModuleProc> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const p = await this.find();
      if (p && p.status === 'online' && p.pid > 0 && p.pid !== notPid) return p;
      if (performance.now() > until) throw new Error(`the module is not online after ${timeoutMs / 1000} s (${p ? `${p.status}, pid ${p.pid}` : 'not in pm2 jlist'})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** `pm2 stop`: the module stays installed, costs nothing and holds no lock. */
  async stop(): Promise<void> {
    await this.pm2(['stop', MODULE]);
    const p = await this.find();
    if (p && p.pid > 0 && isRunning(p.pid)) throw new Error(`pm2 stop left the module running (pid ${p.pid})`);
  }

  /** `pm2 restart` the module (it reads the config at start) and follow it. */
  async start(): Promise<Watcher> {
    const offset = sizeOf(this.outLog);
    const startedAt = Date.now();
    await this.pm2(['restart', MODULE]);
    const p = await this.waitOnline(30_000);
    const ticks = startTicksOf(p.pid);
    const tail = new LogTail(this.outLog, offset);
    const problems: string[] = [];
    const poll = (): void => {
      for (const l of tail.read()) if (PROBLEM.test(l)) problems.push(l);
    };
    return {
      target: 'module', pid: p.pid, startedAt, problems, poll,
      alive: () => isRunning(p.pid) && startTicksOf(p.pid) === ticks,
      describe: () => `module pid ${p.pid}: ${isRunning(p.pid) ? (startTicksOf(p.pid) === ticks ? 'running' : 'pid reused') : 'gone (restarted by PM2? max_memory_restart is 200M)'}`,
      lastLines: (n) => tail.lines.slice(-n),
      stop: async () => {
        poll();
        await this.stop();
      },
    };
  }

  /** PM2's restart count of the module now. */
  async restarts(): Promise<number | undefined> {
    return (await this.find())?.restarts;
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** New whole lines of a growing file from an offset (the last 200 kept). */
class LogTail {
  readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly path: string, private offset: number) {}

  read(): string[] {
    const size = sizeOf(this.path);
    if (size <= this.offset) return [];
    const buf = Buffer.alloc(Math.min(size - this.offset, 4 * 2 ** 20));
    const fd = openSync(this.path, 'r');
    try {
      this.offset += readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      closeSync(fd);
    }
    const parts = (this.partial + buf.toString('utf8')).split('\n');
    this.partial = parts.pop() ?? '';
    const fresh = parts.map((l) => l.trimEnd()).filter(Boolean);
    this.lines.push(...fresh);
    if (this.lines.length > 200) this.lines.splice(0, this.lines.length - 200);
    return fresh;
  }
}
