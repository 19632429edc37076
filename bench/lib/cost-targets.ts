/**
 * The two ways the monitor runs in the monitor-cost benchmark, behind one small interface:
 * `run` (node dist/src/cli/index.js run --config F, a child of the bench) and the installed PM2
 * module (`npm pack` + `pm2 install <tgz>`, a child of the lab's PM2 daemon). Only the CLI, the
 * config file and the module surface are used: the engine is someone else's moving target.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { Lab } from './lab.js';
import { isRunning, startTicksOf } from './proc.js';

export type TargetName = 'run' | 'module';

/** A running monitor the bench measures. */
export interface Watcher {
  readonly target: TargetName;
  readonly pid: number;
  /** Date.now() at its start: probes after this are its own. */
  readonly startedAt: number;
  /** Still the same process (a restart by PM2 counts as gone). */
  alive(): boolean;
  describe(): string;
  /** Read any new log lines (the module's go to PM2's log file). */
  poll(): void;
  /** Log lines that mention a failure, a remedy or an error, so far. */
  readonly problems: string[];
  lastLines(n: number): string[];
  stop(): Promise<void>;
}

export interface CostSettings {
  readonly interval: string;
  readonly timeout: string;
  readonly failureThreshold: number;
  readonly startupGrace: string;
}

export const PROBLEM = /failing|unhealthy|remedy|error|warn/i;

/**
 * Write `<home>/monitor.yaml` for these apps. Each measurement gets its own state_dir, so no
 * monitor starts from another one's state.json (a restored phase changes what it logs and does).
 */
export function writeCostConfig(home: string, apps: readonly { name: string; port: number }[], s: CostSettings, stateDir: string): string {
  const file = join(home, 'monitor.yaml');
  writeFileSync(file, YAML.stringify({
    state_dir: stateDir,
    apps: apps.map((a) => ({
      name: a.name,
      health: { url: `http://127.0.0.1:${a.port}/health`, interval: s.interval, timeout: s.timeout, failure_threshold: s.failureThreshold },
      startup_grace: s.startupGrace,
      ports: [a.port],
    })),
  }));
  return file;
}

/** `run` as a child of the bench (the Lab stops it on cleanup). */
export function startRun(lab: Lab, configPath: string): Watcher {
  const problems: string[] = [];
  const startedAt = Date.now();
  const m = lab.startMonitor(configPath, { onLine: (t) => void (PROBLEM.test(t) && problems.push(t)) });
  const ticks = startTicksOf(m.pid);
  return {
    target: 'run', pid: m.pid, startedAt, problems,
    alive: () => m.running && isRunning(m.pid) && startTicksOf(m.pid) === ticks,
    describe: () => `run pid ${m.pid}: ${m.describeExit()}`,
    poll: () => undefined,
    lastLines: (n) => m.lines.slice(-n).map((l) => l.text),
    stop: () => m.stop(),
  };
}
