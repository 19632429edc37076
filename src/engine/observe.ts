/**
 * Building one observation of an app: PM2's status (or the process's, for apps PM2 does not
 * manage), the probes (HTTP, TCP, exec: all must pass), and squatters on its ports while it is
 * down or crashing. Raw outcomes only: judging them is decide()'s job.
 */
import type { AppConfig } from '../config/schema.js';
import type { ProcessInfo } from '../pm2/adapter.js';
import { probePm2Status } from '../probes/pm2-status.js';
import { probeExec } from '../probes/exec.js';
import { LogActivityTracker } from '../probes/log-activity.js';
import { MemoryTracker, rssOf } from '../probes/memory.js';
import { probeTcp } from '../probes/tcp.js';
import type { HttpProber } from '../probes/http.js';
import type { OtherProbeOutcome, Pm2StatusOutcome } from '../probes/types.js';
import { procAvailable } from '../proc/read.js';
import { snapshotSync } from '../ports/sync.js';
import { isProcessRunning } from '../strategies/process.js';
import type { Observation } from './decide.js';
import { dirname, join } from 'node:path';
import { stateDir } from '../paths.js';
import { printable } from '../text/printable.js';

export interface ObserveInput {
  readonly app: AppConfig;
  readonly list: readonly ProcessInfo[];
  readonly prober: HttpProber;
  readonly limit: <T>(task: () => Promise<T>) => Promise<T>;
  readonly now: () => number;
  readonly crashes: number;
  readonly paused: boolean;
  /** A failed remedy left the app stopped: look for squatters. */
  readonly leftStopped: boolean;
  readonly daemonPid: number | undefined;
  /** The app's rule trackers, owned by its worker (they remember across checks). */
  readonly rules: AppRules;
}

/** Per-app memory of the log and memory rules. */
export interface AppRules {
  log?: LogActivityTracker;
  memory?: MemoryTracker;
  /** The instance pids the rules last saw: a new instance (whoever started it) starts afresh. */
  pids?: string;
}

/** Does PM2 manage this app (now)? Strategy `auto` follows PM2's list. */
export function managedByPm2(app: AppConfig, list: readonly ProcessInfo[]): boolean {
  if (app.strategy === 'pm2') return true;
  if (app.strategy === 'auto') return list.some((p) => p.name === app.name && !p.isModule);
  return false;
}

/** Observe the app once. */
export async function observe(input: ObserveInput): Promise<Observation> {
  const { app, list } = input;
  const pm2 = managedByPm2(app, list) ? probePm2Status(app.name, list) : outsidePm2Status(app);
  const up = pm2.state === 'online';
  const http = up && app.health.url ? await input.limit(() => input.prober.probe(app.health)) : undefined;
  const others = up ? [...(await input.limit(() => otherProbes(app))), ...ruleOutcomes(input, pm2.pids)] : [];
  const suspicious = input.crashes > 0 || pm2.state === 'errored' || pm2.state === 'launching' || (pm2.state === 'stopped' && input.leftStopped);
  const squatters = suspicious && procAvailable && app.ports.length > 0 ? findSquatters(app, pm2.pids, list, input.daemonPid) : [];
  return {
    at: input.now(), pm2, crashes: input.crashes, squatters,
    ...(http ? { http } : {}),
    ...(others.length > 0 ? { others } : {}),
    ...(input.paused ? { paused: true } : {}),
  };
}

/** The log-inactivity and memory rules, each already smoothed over time (hence urgent). */
function ruleOutcomes(input: ObserveInput, pids: readonly number[]): OtherProbeOutcome[] {
  const { app, rules } = input;
  const now = input.now();
  const out: OtherProbeOutcome[] = [];
  const instance = [...pids].sort((a, b) => a - b).join(',');
  if (rules.pids !== undefined && rules.pids !== instance) {
    rules.log?.reset(now);
    rules.memory?.reset();
  }
  rules.pids = instance;
  if (app.logInactivity) {
    const file = app.logInactivity.file ?? input.list.find((p) => p.name === app.name && p.outLog)?.outLog;
    if (file) {
      if (rules.log?.file !== file) rules.log = new LogActivityTracker(file, app.logInactivity.timeoutMs, now);
      const o = rules.log.observe(now);
      out.push(
        o.ok
          ? { kind: 'log', ok: true, latencyMs: 0, info: { newBytes: o.newBytes, silentMs: o.silentMs, rotated: o.rotated, file } }
          : o.failure === 'missing'
            ? { kind: 'log', ok: true, latencyMs: 0, detail: o.detail, info: { missing: true, file } }
            : { kind: 'log', ok: false, urgent: true, latencyMs: 0, detail: o.detail, info: { silentMs: o.silentMs, file } },
      );
    }
  }
  if (app.memory && procAvailable) {
    rules.memory ??= new MemoryTracker(app.memory.maxBytes, app.memory.forChecks);
    const o = rules.memory.observe(rssOf(pids, app.memory.includeChildren));
    out.push(o.ok ? { kind: 'memory', ok: true, latencyMs: 0, info: { rssBytes: o.rssBytes, above: o.above } } : { kind: 'memory', ok: false, urgent: true, latencyMs: 0, detail: o.detail, info: { rssBytes: o.rssBytes } });
  }
  return out;
}

async function otherProbes(app: AppConfig): Promise<OtherProbeOutcome[]> {
  const runs: Promise<OtherProbeOutcome>[] = [];
  if (app.tcp) {
    const { host, port } = app.tcp;
    runs.push(
      probeTcp({ host, port, timeoutMs: app.health.timeoutMs }).then((o) => ({
        kind: 'tcp' as const, ok: o.ok, latencyMs: o.latencyMs,
        ...(o.ok ? {} : { detail: `tcp ${host}:${port} ${o.failure}: ${o.detail}` }),
      })),
    );
  }
  if (app.healthCheckCommand) {
    const { command, timeoutMs } = app.healthCheckCommand;
    runs.push(
      probeExec({ command, timeoutMs, appName: app.name, ...(app.process?.cwd ? { cwd: app.process.cwd } : {}) }).then((o) => ({
        kind: 'exec' as const, ok: o.ok, latencyMs: o.latencyMs,
        ...(o.ok ? {} : { detail: `health_check_command ${o.failure}: ${o.detail}` }),
      })),
    );
  }
  return Promise.all(runs);
}

/** Every configured probe once (HTTP, TCP, exec): healthy when all pass. */
export async function probeAll(app: AppConfig, prober: HttpProber, timeoutMs = app.health.timeoutMs): Promise<{ ok: boolean; detail: string }> {
  const [http, others] = await Promise.all([
    app.health.url ? prober.probe({ ...app.health, timeoutMs }) : undefined,
    otherProbes(app),
  ]);
  if (http && !http.ok) return { ok: false, detail: `health ${http.failure}: ${http.detail}` };
  const bad = others.find((o) => !o.ok);
  if (bad) return { ok: false, detail: bad.detail ?? `${bad.kind} probe failed` };
  const parts = [http ? `${app.health.url} answered ${http.status}` : '', ...others.map((o) => `${o.kind} ok`)].filter(Boolean);
  return { ok: true, detail: parts.join(', ') || 'no probes configured' };
}

/** The app's status when PM2 does not manage it (see outsidePm2Status). */
export function statusOutsidePm2(app: AppConfig): Pm2StatusOutcome {
  return outsidePm2Status(app);
}

/** Apps outside PM2: a process-strategy app is up when its process runs; a service is judged by its probes. */
function outsidePm2Status(app: AppConfig): Pm2StatusOutcome {
  const base = { pids: [], pmIds: [], restarts: 0, uptimeMs: Number.MAX_SAFE_INTEGER };
  if (app.strategy === 'process' && app.process) {
    const running = isProcessRunning(processSpecOf(app));
    return { ...base, state: running ? 'online' : 'errored', detail: running ? 'process running' : 'process not running' };
  }
  return { ...base, state: 'online', detail: `not managed by PM2 (restart_strategy ${app.strategy})` };
}

function findSquatters(app: AppConfig, appPids: readonly number[], list: readonly ProcessInfo[], daemon: number | undefined): Observation['squatters'] {
  const managed = new Set([...appPids, ...list.map((p) => p.pid)]);
  if (daemon) managed.add(daemon);
  return snapshotSync(app.ports).holders.filter((h) => !managed.has(h.pid)).map((h) => ({ port: h.port, pid: h.pid, command: printable(h.command) }));
}

/** The process strategy's spec for an app (also used by the remedy). */
export function processSpecOf(app: AppConfig): import('../strategies/types.js').ProcessSpec {
  const p = app.process!;
  // Without `cwd`, the command's own directory: never the monitor's (`/` under systemd, which
  // would make every daemon "run in the app's directory").
  const cwd = p.cwd ?? commandDir(p.command);
  return {
    appName: app.name, command: p.command, ...(cwd === undefined ? {} : { cwd }),
    ...(p.pidfile ? { pidfile: p.pidfile } : {}),
    ...(p.pattern ? { pattern: p.pattern } : {}),
    logFile: p.logFile ?? join(cwd ?? stateDir(undefined), `${app.name}.log`),
    stopGraceMs: p.stopGraceMs, ports: app.ports, killScope: app.killScope, killGraceMs: app.killGraceMs,
  };
}

const SYSTEM_BIN = new Set(['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']);

/**
 * The directory of a command (pure): of its first absolute-path argument (`node /srv/app/server.js`
 * -> /srv/app, whatever the interpreter's path), else of the program itself unless it is a system
 * program. Undefined when there is none: then no directory identifies the app, and never `/`.
 */
export function commandDir(command: string): string | undefined {
  const words = command.trim().split(/\s+/).map((w) => w.replace(/^['"]+|['"]+$/g, ''));
  const arg = words.slice(1).find((w) => w.startsWith('/'));
  const dir = arg !== undefined ? dirname(arg) : words[0]?.startsWith('/') && !SYSTEM_BIN.has(dirname(words[0])) ? dirname(words[0]) : undefined;
  return dir === undefined || dir === '/' ? undefined : dir;
}
