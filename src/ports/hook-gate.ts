/**
 * The pre-start hook's first, cheap step: read its settings from the app's env and look whether
 * any of its ports is listened on at all (one read of the TCP tables). Only then does the preload
 * load the full plan (ports/hook.ts and the scope, ~15 modules): most starts find the ports free,
 * and every module loaded before the app's own code is start-up time the app pays.
 */
import type { KillScope } from '../config/schema.js';
import { listeningInodes } from '../proc/sockets.js';
import { parsePort } from '../text/port.js';
import { printable } from '../text/printable.js';

export interface PreStartInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export interface PreStartPlan {
  readonly ports: readonly number[];
  readonly scope: KillScope;
  readonly graceMs: number;
}

/** Read the hook's settings from the app's env: HDM_PORTS (else PORT), HDM_KILL_SCOPE, HDM_KILL_GRACE_MS. */
export function planFromEnv(env: PreStartInput['env']): PreStartPlan | string {
  const raw = env['HDM_PORTS'] ?? env['PORT'];
  if (!raw) return 'no HDM_PORTS or PORT in the app env: nothing to free';
  // Plain decimal only: Number() would take 0x50 as port 80 and 1e3 as 1000.
  const ports = raw.split(/[\s,]+/).filter(Boolean).map(parsePort);
  if (ports.length === 0 || ports.some((p) => p === undefined)) return `HDM_PORTS/PORT "${printable(raw)}" is not a list of TCP ports (decimal 1-65535)`;
  const scope = (env['HDM_KILL_SCOPE'] ?? 'app') as KillScope;
  if (!['app', 'user', 'any'].includes(scope)) return `HDM_KILL_SCOPE "${printable(scope)}" is not one of app, user, any`;
  const grace = Number(env['HDM_KILL_GRACE_MS'] ?? 1000);
  return { ports: ports as number[], scope, graceMs: Number.isFinite(grace) && grace >= 0 ? grace : 1000 };
}

/** Nothing to do (a reason), or the ports to free because something listens on them. */
export function gate(env: PreStartInput['env']): { readonly busy: boolean; readonly ports: readonly number[] } | string {
  const plan = planFromEnv(env);
  if (typeof plan === 'string') return plan;
  return { busy: listeningInodes(new Set(plan.ports)).size > 0, ports: plan.ports };
}
