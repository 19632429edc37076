/**
 * The app's rules, each already smoothed over time (hence urgent when they fail): log inactivity,
 * sustained memory, sustained CPU and log-line matches. Their trackers live in AppRules, owned by
 * the app's worker; a new instance (whoever started it) starts every rule afresh.
 */
import type { AppConfig } from '../config/schema.js';
import type { LogMatchConfig } from '../config/rules.js';
import type { ProcessInfo } from '../pm2/adapter.js';
import { CpuTracker, cpuSamples } from '../probes/cpu.js';
import { LogActivityTracker } from '../probes/log-activity.js';
import { LogMatchTracker } from '../probes/log-match.js';
import { MemoryTracker, rssOf } from '../probes/memory.js';
import type { OtherProbeOutcome } from '../probes/types.js';
import { procAvailable } from '../proc/read.js';
import { descendants } from '../proc/tree.js';

/** Per-app memory of the rules. */
export interface AppRules {
  log?: LogActivityTracker;
  memory?: MemoryTracker;
  cpu?: CpuTracker;
  /** One tracker per log_match entry, in config order. */
  matches?: LogMatchTracker[];
  /** The instance pids the rules last saw: a new instance (whoever started it) starts afresh. */
  pids?: string;
}

/** Does the app have a rule to evaluate at each check? */
export function hasRules(app: AppConfig): boolean {
  return app.logInactivity !== undefined || app.memory !== undefined || app.cpu !== undefined || (app.logMatch?.length ?? 0) > 0;
}

/** Start every rule afresh (a restart: a new log timeout, no counts, no CPU baseline, log reads from now). */
export function resetRules(rules: AppRules, now: number): void {
  rules.log?.reset(now);
  rules.memory?.reset();
  rules.cpu?.reset();
  for (const m of rules.matches ?? []) m.reset();
}

/** The rules' outcomes for the app's instances `pids`, seen in PM2's `list`, at monotonic `now`. */
export function ruleOutcomes(app: AppConfig, rules: AppRules, list: readonly ProcessInfo[], pids: readonly number[], now: number): OtherProbeOutcome[] {
  const out: OtherProbeOutcome[] = [];
  const instance = [...pids].sort((a, b) => a - b).join(',');
  if (rules.pids !== undefined && rules.pids !== instance) resetRules(rules, now);
  rules.pids = instance;
  // The instances with their descendants: one walk of /proc per check, shared by memory and cpu.
  let family: number[] | undefined;
  const withChildren = (yes: boolean): number[] => (yes ? (family ??= [...new Set([...pids, ...descendants(pids)])]) : [...pids]);
  if (app.logInactivity) {
    const file = app.logInactivity.file ?? list.find((p) => p.name === app.name && p.outLog)?.outLog;
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
    const o = rules.memory.observe(rssOf(withChildren(app.memory.includeChildren), false));
    out.push(o.ok ? { kind: 'memory', ok: true, latencyMs: 0, info: { rssBytes: o.rssBytes, above: o.above } } : { kind: 'memory', ok: false, urgent: true, latencyMs: 0, detail: o.detail, info: { rssBytes: o.rssBytes } });
  }
  if (app.cpu && procAvailable) {
    rules.cpu ??= new CpuTracker(app.cpu.abovePercent, app.cpu.forChecks);
    const o = rules.cpu.observe(now, cpuSamples(withChildren(app.cpu.includeChildren), false));
    const percent: Record<string, number> = o.percent === undefined ? {} : { percent: Math.round(o.percent) };
    out.push(o.ok ? { kind: 'cpu', ok: true, latencyMs: 0, info: { ...percent, above: o.above } } : { kind: 'cpu', ok: false, urgent: true, latencyMs: 0, detail: o.detail, info: { ...percent } });
  }
  if (app.logMatch && app.logMatch.length > 0) out.push(...matchOutcomes(app, rules, list, now));
  return out;
}

/** The log_match rules: a firing restart rule fails the check; a firing notify rule is a notice. */
function matchOutcomes(app: AppConfig, rules: AppRules, list: readonly ProcessInfo[], now: number): OtherProbeOutcome[] {
  const trackers = (rules.matches ??= []);
  return (app.logMatch ?? []).map((rule, i): OtherProbeOutcome => {
    const files = filesOf(rule, app.name, list);
    let t = trackers[i];
    if (!t || t.key !== files.join('\n')) t = trackers[i] = new LogMatchTracker(rule, files);
    const o = t.observe(now);
    const info = { count: o.count, newBytes: o.newBytes, skippedBytes: o.skippedBytes, files: files.length };
    if (!o.fired) return { kind: 'log-match', ok: true, latencyMs: 0, info };
    if (rule.action === 'notify') return { kind: 'log-match', ok: true, latencyMs: 0, notice: o.detail, info };
    return { kind: 'log-match', ok: false, urgent: true, latencyMs: 0, detail: o.detail, info };
  });
}

/** The files a rule reads: its own `file`, else the app's PM2 log files of the chosen stream (every instance's). */
function filesOf(rule: LogMatchConfig, name: string, list: readonly ProcessInfo[]): string[] {
  if (rule.file) return [rule.file];
  const files = new Set<string>();
  for (const p of list) {
    if (p.name !== name) continue;
    if (rule.stream !== 'err' && p.outLog) files.add(p.outLog);
    if (rule.stream !== 'out' && p.errLog) files.add(p.errLog);
  }
  return [...files].sort();
}
