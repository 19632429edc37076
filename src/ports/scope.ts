/**
 * The safety scope for killing, as a pure judgement: may this port holder be killed on behalf of
 * this app? Never PID 1, the PM2 daemon, the monitor or its ancestors; by default only what
 * belongs to the app (its pids and their descendants, or a process with the app's cwd or script).
 */
import type { KillScope } from '../config/schema.js';

export interface HolderFacts {
  readonly pid: number;
  readonly uid: number;
  readonly command: string;
  readonly cwd?: string;
}

export interface ScopeContext {
  /** Never killed, whatever the scope: 1, the PM2 daemon, the monitor and its ancestors. */
  readonly protectedPids: ReadonlyMap<number, string>;
  readonly scope: KillScope | 'port';
  /** Pids that belong to the app: its PM2 instances and their descendants. */
  readonly appPids: ReadonlySet<number>;
  readonly appCwd?: string;
  readonly appScript?: string;
  /** Processes of other PM2 apps: never killed under scope `app`. */
  readonly otherApps?: ReadonlyMap<number, string>;
  /** The uid the monitor runs as (scope `user`). */
  readonly uid: number;
}

export type Verdict = { readonly kill: true; readonly why: string } | { readonly kill: false; readonly why: string };

/** Decide whether a holder may be killed. Pure: no I/O. */
export function judge(holder: HolderFacts, ctx: ScopeContext): Verdict {
  const guarded = ctx.protectedPids.get(holder.pid);
  if (guarded !== undefined) return { kill: false, why: `protected: ${guarded}` };
  switch (ctx.scope) {
    case 'any':
      return { kill: true, why: 'kill_scope any' };
    case 'port':
      return { kill: true, why: 'explicit kill-port by the operator' };
    case 'user':
      return holder.uid === ctx.uid
        ? { kill: true, why: `same user (uid ${ctx.uid})` }
        : { kill: false, why: `owned by uid ${holder.uid}, outside kill_scope user (uid ${ctx.uid})` };
    case 'app': {
      if (ctx.appPids.has(holder.pid)) return { kill: true, why: 'a process of the app' };
      const other = ctx.otherApps?.get(holder.pid);
      if (other !== undefined) return { kill: false, why: `a process of another PM2 app (${other})` };
      if (ctx.appCwd && holder.cwd === ctx.appCwd) return { kill: true, why: `runs in the app's directory ${ctx.appCwd}` };
      if (ctx.appScript && holder.command.includes(ctx.appScript)) return { kill: true, why: "runs the app's script" };
      return { kill: false, why: 'not a process of the app (kill_scope app); widen kill_scope to user or any to allow it' };
    }
  }
}
