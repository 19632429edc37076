/**
 * The safety scope for killing, as a pure judgement: may this process be signalled on behalf of
 * this app? Every verdict names the rule that decided it, and every refusal the setting (if any)
 * that would allow it.
 *
 * The identity rule (kill_scope `app`): a process is the app's only if it runs as the app's uid
 * and (a) it is an instance of the app or descends from one, or (b) its environment carries this
 * PM2_HOME and the app's pm_id (or name: cluster instances have one pm_id each), or (c) it runs in
 * the app's cwd and carries no PM2 marks at all. A process that carries another app's marks, or
 * descends from another app's instance, is never the app's. A cwd of `/` identifies nothing.
 * `user` widens this to every process of the app's uid except other apps'; `any` to everything.
 * Never, whatever the scope: the never-killed list (PID 1, the PM2 daemon, the monitor, ...).
 */
import type { KillScope } from '../config/schema.js';
import type { Pm2Marks } from '../proc/read.js';
import type { KillLog } from './kill-log.js';
import { printable } from '../text/printable.js';

/** What we know of a process when judging it (gathered from /proc by the drivers). */
export interface HolderFacts {
  readonly pid: number;
  readonly uid: number;
  readonly command: string;
  readonly cwd?: string;
  /** Start time in clock ticks: the signal is sent only while it still matches. */
  readonly startTicks?: number;
  /** The PM2 marks in its environment; undefined when the environment is unreadable. */
  readonly marks?: Pm2Marks;
  /** Its ancestors, nearest first (init excluded), with their marks where readable. */
  readonly lineage?: readonly { readonly pid: number; readonly marks?: Pm2Marks }[];
}

/** Who the app is, as far as killing is concerned. */
export interface AppIdentity {
  readonly name?: string;
  /** The uid the app runs as (its instances', else the PM2 daemon's, else the monitor's). */
  readonly uid: number;
  /** The pm_ids of its PM2 instances (one per cluster instance). */
  readonly pmIds: ReadonlySet<number>;
  /** Its instances now and those seen since the monitor started: pid -> start ticks (if known). */
  readonly instances: ReadonlyMap<number, number | undefined>;
  readonly cwd?: string;
}

export interface ScopeContext {
  /** Never killed, whatever the scope: pid -> why. */
  readonly protectedPids: ReadonlyMap<number, string>;
  readonly scope: KillScope | 'port' | 'hung-daemon';
  /** scope hung-daemon: the one PM2 daemon the supervisor found hung (supervisor.kill_hung_daemon). */
  readonly hungDaemon?: { readonly pid: number; readonly pm2Home: string };
  readonly app: AppIdentity;
  /** The PM2_HOME whose marks identify apps (undefined outside PM2: marks then identify nothing of ours). */
  readonly pm2Home?: string;
  /** Instances of other PM2 apps: pid -> app name. */
  readonly otherApps?: ReadonlyMap<number, string>;
  /** Where every signal judged under this scope, and every refused port holder, is logged (absent: nowhere). */
  readonly killLog?: KillLog;
}

export type Rule = 'never-killed' | 'hung-daemon' | 'scope-any' | 'kill-port' | 'uid' | 'other-app' | 'instance' | 'descendant' | 'pm2-marks' | 'cwd' | 'not-the-app';

export interface Verdict {
  readonly kill: boolean;
  readonly rule: Rule;
  readonly why: string;
}

const yes = (rule: Rule, why: string): Verdict => ({ kill: true, rule, why });
/** A refusal names what was seen, the rule and scope that refused, and the setting that would allow it. */
const no = (rule: Rule, seen: string, scope: string, allow: string): Verdict => ({ kill: false, rule, why: `${seen} (rule ${rule} under kill_scope ${scope}; ${allow})` });

/** Decide whether a process may be signalled. Pure: no I/O. */
export function judge(holder: HolderFacts, ctx: ScopeContext): Verdict {
  const guarded = ctx.protectedPids.get(holder.pid);
  if (guarded !== undefined) return { kill: false, rule: 'never-killed', why: `protected: ${guarded} (rule never-killed: no kill_scope allows it)` };
  if (ctx.scope === 'any') return yes('scope-any', 'kill_scope any');
  if (ctx.scope === 'port') return yes('kill-port', 'explicit kill-port by the operator');
  const { app } = ctx;
  if (ctx.scope === 'hung-daemon') {
    const d = ctx.hungDaemon;
    if (d === undefined || d.pid !== holder.pid) return { kill: false, rule: 'hung-daemon', why: `not the hung PM2 daemon${d ? ` (pid ${d.pid})` : ''} (rule hung-daemon: only that process may be signalled)` };
    if (holder.uid !== app.uid) return { kill: false, rule: 'hung-daemon', why: `the daemon runs as uid ${holder.uid}, PM2_HOME ${printable(d.pm2Home, 120)} belongs to uid ${app.uid} (rule hung-daemon)` };
    return yes('hung-daemon', `the PM2 daemon of ${printable(d.pm2Home, 120)} does not answer (supervisor.kill_hung_daemon)`);
  }
  if (holder.uid !== app.uid) {
    return no('uid', `owned by uid ${holder.uid}, the app runs as uid ${app.uid}`, ctx.scope, 'only kill_scope any would allow it');
  }
  const other = otherAppOf(holder, ctx);
  if (other !== undefined) return no('other-app', other, ctx.scope, 'only kill_scope any would allow it');
  if (ctx.scope === 'user') return yes('uid', `runs as the app's uid ${app.uid} (kill_scope user)`);
  return appRule(holder, ctx);
}

/** Why the process belongs to another PM2 app, or undefined. */
function otherAppOf(holder: HolderFacts, ctx: ScopeContext): string | undefined {
  const name = ctx.otherApps?.get(holder.pid);
  if (name !== undefined) return `an instance of another PM2 app (${name})`;
  for (const a of holder.lineage ?? []) {
    const n = ctx.otherApps?.get(a.pid);
    if (n !== undefined) return `a descendant of pid ${a.pid}, an instance of another PM2 app (${n})`;
  }
  const foreign = [{ pid: holder.pid, marks: holder.marks }, ...(holder.lineage ?? [])].find((p) => p.marks !== undefined && marksOf(p.marks, ctx) === 'other');
  if (foreign?.marks !== undefined) {
    const m = foreign.marks;
    const who = foreign.pid === holder.pid ? 'its environment carries' : `its ancestor pid ${foreign.pid} carries`;
    // Environment values are the process's own to choose: escaped before they reach a log line.
    if (ctx.pm2Home !== undefined && m.pm2Home !== undefined && m.pm2Home !== ctx.pm2Home) return `${who} the marks of an app of another PM2_HOME (${printable(m.pm2Home, 120)})`;
    return `${who} pm_id ${m.pmId ?? '?'}${m.name === undefined ? '' : ` (${printable(m.name, 120)})`}, another PM2 app's`;
  }
  return undefined;
}

/** Do these marks name the app, another app, or no app at all? */
function marksOf(m: Pm2Marks, ctx: ScopeContext): 'app' | 'other' | 'none' {
  // PM2_HOME alone (a pm2 CLI, an operator's shell, a command we spawned) names no app.
  if (m.pmId === undefined) return 'none';
  // Outside PM2 (process strategy, exec probes) no marks can be the app's: any PM2 app's process is another's.
  if (ctx.pm2Home === undefined) return 'other';
  if (m.pm2Home !== undefined && m.pm2Home !== ctx.pm2Home) return 'other';
  if (ctx.app.pmIds.has(m.pmId)) return 'app';
  if (ctx.app.name !== undefined && m.name === ctx.app.name) return 'app';
  return 'other';
}

function isInstance(pid: number, startTicks: number | undefined, app: AppIdentity): boolean {
  if (!app.instances.has(pid)) return false;
  const known = app.instances.get(pid);
  return known === undefined || startTicks === undefined || known === startTicks;
}

/** kill_scope app, for a process of the app's uid that is no other app's. */
function appRule(holder: HolderFacts, ctx: ScopeContext): Verdict {
  const { app } = ctx;
  if (isInstance(holder.pid, holder.startTicks, app)) return yes('instance', `an instance of the app (pid ${holder.pid})`);
  const parent = (holder.lineage ?? []).find((a) => app.instances.has(a.pid));
  if (parent !== undefined) return yes('descendant', `a descendant of the app's instance pid ${parent.pid}`);
  if (holder.marks !== undefined && marksOf(holder.marks, ctx) === 'app') {
    return yes('pm2-marks', `its environment carries the app's pm_id ${holder.marks.pmId ?? '?'} of this PM2_HOME`);
  }
  if (app.cwd !== undefined && app.cwd !== '/' && holder.cwd === app.cwd) {
    if (holder.marks === undefined) return no('cwd', `runs in the app's directory ${app.cwd}, but its environment is unreadable, so its PM2 marks are unknown`, 'app', 'kill_scope user would allow it');
    return yes('cwd', `runs in the app's directory ${app.cwd} as uid ${app.uid} and carries no PM2 marks`);
  }
  return no('not-the-app', 'not an instance of the app or a descendant of one, carries no PM2 marks of it, and does not run in its directory', 'app', 'kill_scope user would allow it');
}
