/**
 * The synchronous pre-start step used by hooks/pre-start.cjs: free the ports of the app that is
 * about to start, before its code runs, with the same plan and scope rules as everything else.
 * It never kills the process it runs in, its ancestors (the PM2 daemon), or PID 1.
 */
import type { KillScope } from '../config/schema.js';
import { buildScope } from './context.js';
import type { FreePortsResult } from './free-port.js';
import { runFreePortsSync } from './sync.js';
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
  if (!['app', 'user', 'any'].includes(scope)) return `HDM_KILL_SCOPE "${scope}" is not one of app, user, any`;
  const grace = Number(env['HDM_KILL_GRACE_MS'] ?? 1000);
  return { ports: ports as number[], scope, graceMs: Number.isFinite(grace) && grace >= 0 ? grace : 1000 };
}

/** Free the app's ports synchronously; a string explains why nothing was done. */
export function preStartFreePorts(input: PreStartInput): FreePortsResult | string {
  const plan = planFromEnv(input.env);
  if (typeof plan === 'string') return plan;
  // The app being started is this process: its pm_id, name and PM2_HOME are in its own env, its
  // uid is ours. The same identity rule as the engine's, with this process as the only instance.
  const pmId = /^\d{1,9}$/.test(input.env['pm_id'] ?? '') ? Number(input.env['pm_id']) : undefined;
  const name = input.env['name'];
  const pm2Home = input.env['PM2_HOME'];
  const scope = buildScope({
    scope: plan.scope,
    app: {
      ...(name ? { name } : {}),
      ...(pmId === undefined ? {} : { pmIds: [pmId] }),
      cwd: input.cwd,
      ...(process.getuid ? { uid: process.getuid() } : {}),
    },
    ...(pm2Home ? { pm2Home } : {}),
    self: 'the app being started (this process)',
  });
  return runFreePortsSync({ ports: plan.ports, scope, graceMs: plan.graceMs, now: () => performance.now() });
}

/**
 * The lines the preload writes to the app's error log: what was killed or refused and why, with
 * command lines escaped (a holder's argv is anyone's to fill with terminal escapes).
 */
export function describePreStart(result: FreePortsResult, name: string, ms: number): string[] {
  const tag = `[helpdesk-monitor pre-start ${printable(name)}]`;
  const lines: string[] = [];
  for (const k of result.killed) lines.push(`${tag} killed pid ${k.pid} (${printable(k.command, 120)}) holding port ${k.port} with ${k.signal}: ${k.why}`);
  for (const r of result.refused) lines.push(`${tag} refused to kill pid ${r.pid} (${printable(r.command, 120)}, uid ${r.uid}) holding port ${r.port}: ${r.why}`);
  lines.push(`${tag} ${result.free ? 'ports free' : `port ${result.stillHeld.join(',')} still held`} after ${ms.toFixed(1)} ms`);
  return lines;
}
