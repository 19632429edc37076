/**
 * The synchronous pre-start step used by hooks/pre-start.cjs: free the ports of the app that is
 * about to start, before its code runs, with the same plan and scope rules as everything else.
 * It never kills the process it runs in, its ancestors (the PM2 daemon), or PID 1.
 */
import { buildScope } from './context.js';
import { killLogIn } from './kill-log.js';
import { stateDir } from '../paths.js';
import type { FreePortsResult } from './free-port.js';
import { planFromEnv, type PreStartInput } from './hook-gate.js';
import { runFreePortsSync } from './sync.js';
import { printable } from '../text/printable.js';

export type { PreStartInput, PreStartPlan } from './hook-gate.js';
export { planFromEnv } from './hook-gate.js';

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
    // The hook knows no config: the default state dir of this PM2_HOME (or HELPDESK_MONITOR_STATE_DIR).
    ...(pm2Home ? { killLog: killLogIn(stateDir(undefined, input.env), 'pre-start hook') } : {}),
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
  for (const k of result.killed) lines.push(`${tag} killed pid ${k.pid} (${printable(k.command)}) holding port ${k.port} with ${k.signal}: ${k.why}`);
  for (const r of result.refused) lines.push(`${tag} refused to kill pid ${r.pid} (${printable(r.command)}, uid ${r.uid}) holding port ${r.port}: ${r.why}`);
  lines.push(`${tag} ${result.free ? 'ports free' : `port ${result.stillHeld.join(',')} still held`} after ${ms.toFixed(1)} ms`);
  return lines;
}
