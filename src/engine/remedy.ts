/**
 * One remedy, told as one story: stop, free ports, start, verify, with each step's duration.
 * Never throws: every failure becomes part of the report.
 */
import type { AppConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import type { FreePortsResult } from '../ports/free-port.js';
import { appScope, freeAppPorts, startApp, stopApp, verifyHealthy, type ActDeps } from './act.js';

export interface RemedyStep {
  readonly step: 'stop' | 'free-ports' | 'start' | 'verify';
  readonly ok: boolean;
  readonly ms: number;
  readonly detail: string;
}

export interface RemedyReport {
  readonly app: string;
  readonly reason: string;
  readonly ok: boolean;
  readonly steps: readonly RemedyStep[];
  readonly ports?: FreePortsResult;
  /** From the start of the remedy to verified health. */
  readonly timeToHealthyMs?: number;
  readonly failure?: string;
  readonly totalMs: number;
}

/** Stop the app, free its ports, start it and verify it is healthy. */
export async function runRemedy(app: AppConfig, reason: string, hung: boolean, deps: ActDeps): Promise<RemedyReport> {
  const t0 = deps.clock.now();
  const steps: RemedyStep[] = [];
  let ports: FreePortsResult | undefined;
  const done = (ok: boolean, failure?: string): RemedyReport => ({
    app: app.name, reason, ok, steps, totalMs: deps.clock.now() - t0,
    ...(ports ? { ports } : {}),
    ...(ok ? { timeToHealthyMs: deps.clock.now() - t0 } : {}),
    ...(failure ? { failure } : {}),
  });
  const timed = async <T>(step: RemedyStep['step'], run: () => Promise<T>, describe: (v: T) => [boolean, string]): Promise<T | undefined> => {
    const s = deps.clock.now();
    try {
      const v = await run();
      const [ok, detail] = describe(v);
      steps.push({ step, ok, ms: deps.clock.now() - s, detail });
      return v;
    } catch (err) {
      steps.push({ step, ok: false, ms: deps.clock.now() - s, detail: describeError(err) });
      return undefined;
    }
  };

  let list;
  try {
    list = await deps.pm2.list();
  } catch (err) {
    return done(false, `cannot list PM2 processes: ${describeError(err)}`);
  }
  if (!list.some((p) => p.name === app.name && !p.isModule)) return done(false, 'the app is not known to PM2');
  const scope = appScope(app, list, deps.pm2.daemonPid());

  const stopped = await timed('stop', () => stopApp(app, list, hung, deps), () => [true, hung ? 'stopped (hung: killed at once)' : 'stopped']);
  if (stopped === undefined && steps.at(-1)?.ok === false) return done(false, `stop failed: ${steps.at(-1)?.detail}`);

  if (app.ports.length > 0) {
    ports = await timed('free-ports', () => freeAppPorts(app, scope, deps), (r) => [r.free, describeFreed(r)]);
    if (!ports?.free) {
      // Starting into a port we could not free would only feed PM2's EADDRINUSE loop.
      return done(false, `port ${ports?.stillHeld.join(',') ?? app.ports.join(',')} still held: ${ports ? describeFreed(ports) : steps.at(-1)?.detail}`);
    }
  }

  await timed('start', () => startApp(app, list, deps), () => [true, 'restart sent']);
  if (steps.at(-1)?.ok === false) return done(false, `start failed: ${steps.at(-1)?.detail}`);

  const verified = await timed('verify', () => verifyHealthy(app, deps), (v) => [v.ok, v.detail]);
  return verified?.ok ? done(true) : done(false, steps.at(-1)?.detail ?? 'verify failed');
}

/** One line about what freeing the ports did. */
export function describeFreed(r: FreePortsResult): string {
  const parts: string[] = [];
  for (const k of r.killed) parts.push(`killed pid ${k.pid} (${k.command}) on port ${k.port} with ${k.signal}: ${k.why}`);
  for (const x of r.refused) parts.push(`refused pid ${x.pid} (${x.command}, uid ${x.uid}) on port ${x.port}: ${x.why}`);
  if (parts.length === 0) parts.push(r.free ? `ports ${r.ports.join(',')} already free` : `ports ${r.stillHeld.join(',')} held`);
  return parts.join('; ');
}
