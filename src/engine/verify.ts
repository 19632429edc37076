/**
 * Proving an app is healthy: every configured probe once (HTTP, TCP, exec; all must pass), and
 * the wait after an action until the app is up and its probes pass, or the deadline.
 */
import { sleep } from '../clock.js';
import type { AppConfig } from '../config/schema.js';
import { probeExec } from '../probes/exec.js';
import type { HttpProber } from '../probes/http.js';
import { probePm2Status } from '../probes/pm2-status.js';
import { probeTcp } from '../probes/tcp.js';
import type { OtherProbeOutcome, Pm2StatusOutcome } from '../probes/types.js';
import type { Pm2Deps } from '../strategies/pm2.js';

export interface ActDeps extends Pm2Deps {
  readonly prober: HttpProber;
}

/** The TCP and exec probes of an app (the HTTP one goes through the shared prober). */
export async function otherProbes(app: AppConfig): Promise<OtherProbeOutcome[]> {
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

export interface VerifyResult {
  readonly ok: boolean;
  readonly elapsedMs: number;
  readonly detail: string;
}

/**
 * Wait until the app is up (every PM2 instance online, or `status` says so for apps outside PM2)
 * and every probe passes, or the deadline.
 */
export async function verifyHealthy(
  app: AppConfig,
  deps: ActDeps,
  timeoutMs = app.verifyTimeoutMs,
  status: () => Promise<Pm2StatusOutcome> = async () => probePm2Status(app.name, await deps.pm2.list()),
): Promise<VerifyResult> {
  const started = deps.clock.now();
  let detail = 'no observation yet';
  while (deps.clock.now() - started < timeoutMs) {
    const s = await status();
    if (s.state === 'errored' || s.state === 'missing') {
      return { ok: false, elapsedMs: deps.clock.now() - started, detail: `${s.state} (${s.detail})` };
    }
    if (s.state !== 'online') {
      detail = s.detail;
    } else {
      const left = timeoutMs - (deps.clock.now() - started);
      const r = await probeAll(app, deps.prober, Math.max(50, Math.round(Math.min(app.health.timeoutMs, left))));
      if (r.ok) return { ok: true, elapsedMs: deps.clock.now() - started, detail: `online, ${r.detail}` };
      detail = `online, but ${r.detail}`;
    }
    await sleep(50);
  }
  return { ok: false, elapsedMs: deps.clock.now() - started, detail: `not healthy within ${timeoutMs} ms: ${detail}` };
}

/** A verification's outcome in words: `healthy`, or why not, saying "not healthy" once. */
export function verdictText(v: { readonly ok: boolean; readonly detail: string }): string {
  if (v.ok) return 'healthy';
  return v.detail.startsWith('not healthy') ? v.detail : `not healthy: ${v.detail}`;
}
