/**
 * restart_strategy `service`: `systemctl restart UNIT`, then poll `systemctl is-active UNIT` until
 * it answers `active` (exit 0) or the budget runs out; a unit that turns `failed` ends the wait at
 * once. systemctl runs through execFile (no shell), each call with a timeout, with the env the
 * caller gives (so tests can put a stand-in `systemctl` first on PATH).
 */
import { execFile } from 'node:child_process';
import { sleep } from '../clock.js';
import { runStep } from '../steps/steps.js';
import { OUTSIDE_PM2, type RestartStrategy, type ServiceSpec, type StrategyDeps, type StrategyResult } from './types.js';

/** The longest a single `is-active` call may take. */
const IS_ACTIVE_CALL_MS = 5000;
/** The shortest timeout given to a call, even when the budget is nearly spent. */
const MIN_CALL_MS = 500;
/** `systemctl cat` for serviceExists. */
const EXISTS_CALL_MS = 5000;

/** The argv of each systemctl call (pure; the unit is validated first). */
export const systemctlArgs = {
  restart: (unit: string): string[] => ['restart', unit],
  isActive: (unit: string): string[] => ['is-active', unit],
  /** `systemctl cat` exits 0 when a unit file exists for the name, 1 ("No files found") otherwise. */
  exists: (unit: string): string[] => ['cat', unit],
} as const;

/**
 * Why a unit name is unusable, or undefined when it is fine. systemd unit names use ASCII
 * letters, digits and `:-_.\@`; a leading `-` would be read by systemctl as an option.
 */
export function unitNameProblem(unit: string): string | undefined {
  if (unit.length === 0) return 'the unit name is empty';
  if (unit.length > 256) return 'the unit name is longer than 256 characters';
  if (unit.startsWith('-')) return `the unit name "${unit}" starts with "-"`;
  if (!/^[A-Za-z0-9:_.@\\-]+$/.test(unit)) return `the unit name "${unit}" has characters systemd does not allow (letters, digits and :-_.\\@ only)`;
  return undefined;
}

export interface SystemctlOutcome {
  /** Exit code; null when systemctl did not run to completion (missing, timed out, killed). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Why systemctl did not run (not on PATH, ...), when it did not. */
  readonly error?: string;
}

/** Run `systemctl ARGS`; never rejects. */
export function runSystemctl(args: readonly string[], env: NodeJS.ProcessEnv | undefined, timeoutMs: number): Promise<SystemctlOutcome> {
  return new Promise((resolve) => {
    execFile(
      'systemctl',
      [...args],
      { env: env ?? process.env, timeout: Math.max(1, Math.round(timeoutMs)), killSignal: 'SIGKILL', maxBuffer: 1024 * 1024, encoding: 'utf8', windowsHide: true },
      (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr, timedOut: false });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: NodeJS.Signals | null };
        if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr, timedOut: false });
        if (e.killed || e.signal) {
          return resolve({ code: null, stdout, stderr, timedOut: e.killed === true, error: e.killed ? `timed out after ${Math.round(timeoutMs)} ms` : `killed by ${e.signal}` });
        }
        const error = e.code === 'ENOENT' ? 'systemctl not found on PATH' : e.message;
        resolve({ code: null, stdout, stderr, timedOut: false, error });
      },
    );
  });
}

/** One line about a systemctl call that did not succeed. */
export function describeOutcome(what: string, o: SystemctlOutcome): string {
  if (o.code === null) return `${what}: ${o.error ?? 'did not run'}`;
  const said = firstLine(o.stderr) || firstLine(o.stdout);
  return `${what} exited ${o.code}${said ? `: ${said}` : ''}`;
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l.length > 0)?.slice(0, 300) ?? '';
}

/** Whether a unit file exists for the name (`systemctl cat UNIT` exits 0): the `auto` strategy's test. */
export async function serviceExists(unit: string, env?: NodeJS.ProcessEnv): Promise<boolean> {
  if (unitNameProblem(unit) !== undefined) return false;
  const o = await runSystemctl(systemctlArgs.exists(unit), env, EXISTS_CALL_MS);
  return o.code === 0;
}

/** The state `is-active` reports; `active` only with exit 0. */
export interface ActiveState {
  readonly active: boolean;
  /** `active`, `activating`, `failed`, `inactive`, ... or a description when the call failed. */
  readonly state: string;
  /** The unit cannot become active by waiting (it failed). */
  readonly final: boolean;
  readonly outcome: SystemctlOutcome;
}

/** Interpret one `systemctl is-active` answer (pure). */
export function readActiveState(o: SystemctlOutcome): ActiveState {
  const state = o.stdout.trim().split('\n')[0]?.trim() ?? '';
  if (o.code === 0 && state === 'active') return { active: true, state, final: true, outcome: o };
  if (o.code === null) return { active: false, state: o.error ?? 'no answer', final: false, outcome: o };
  return { active: false, state: state || `exit ${o.code}`, final: state === 'failed', outcome: o };
}

interface WaitResult {
  readonly active: boolean;
  readonly polls: number;
  readonly last: ActiveState | undefined;
  readonly elapsedMs: number;
  readonly detail: string;
}

/** Restart a systemd unit and wait for it to be active. Never throws. */
export async function restartService(spec: ServiceSpec, deps: StrategyDeps): Promise<StrategyResult> {
  const { unit } = spec;
  const bad = unitNameProblem(unit);
  if (bad !== undefined) {
    const end = deps.reporter.begin(`systemctl restart ${unit}`);
    end(false, bad);
    return { ok: false, detail: `cannot restart service: ${bad}` };
  }
  const started = deps.clock.now();
  const left = (): number => spec.timeoutMs - (deps.clock.now() - started);

  const restarted = await runStep(
    deps.reporter,
    `systemctl restart ${unit}`,
    () => runSystemctl(systemctlArgs.restart(unit), deps.env, Math.max(MIN_CALL_MS, spec.timeoutMs)),
    (o) => [o.code === 0, o.code === 0 ? 'restart job done' : describeOutcome(`systemctl restart ${unit}`, o)],
  );
  if (!restarted.ok) return { ok: false, detail: restarted.detail };

  const waited = await runStep(deps.reporter, `wait for ${unit} active`, () => waitActive(unit, spec.timeoutMs, deps, started, left), (w) => [w.active, w.detail]);
  if (waited.ok) return { ok: true, detail: `${unit} restarted and active after ${Math.round(deps.clock.now() - started)} ms` };
  return { ok: false, detail: `${unit} not active after restart: ${waited.detail}` };
}

async function waitActive(unit: string, timeoutMs: number, deps: StrategyDeps, started: number, left: () => number): Promise<WaitResult> {
  let polls = 0;
  let last: ActiveState | undefined;
  let pause = 50;
  const done = (active: boolean, detail: string): WaitResult => ({ active, polls, last, elapsedMs: deps.clock.now() - started, detail });
  // At least one poll, even when `restart` used up the budget.
  for (;;) {
    const budget = Math.min(IS_ACTIVE_CALL_MS, Math.max(MIN_CALL_MS, left()));
    last = readActiveState(await runSystemctl(systemctlArgs.isActive(unit), deps.env, budget));
    polls++;
    if (last.active) return done(true, `active (${polls} poll${polls === 1 ? '' : 's'})`);
    if (last.final) return done(false, `${unit} is ${last.state} (systemctl is-active exited ${last.outcome.code ?? '?'})`);
    if (left() <= 0) {
      const how = last.outcome.code === null ? last.state : `${last.state}, systemctl is-active exited ${last.outcome.code}`;
      return done(false, `not active within ${timeoutMs} ms (last: ${how}; ${polls} poll${polls === 1 ? '' : 's'})`);
    }
    await sleep(Math.min(pause, Math.max(1, left())));
    pause = Math.min(pause * 2, 500);
  }
}


/** Apps run by systemd: judged by their probes alone, restarted with systemctl. */
export function serviceStrategy(deps: Omit<StrategyDeps, 'reporter'>): RestartStrategy {
  return {
    name: 'service',
    readsTable: false,
    status: (app) => ({ ...OUTSIDE_PM2, state: 'online', detail: `not managed by PM2 (restart_strategy ${app.strategy})` }),
    restart: (app, reporter) => restartService({ unit: app.serviceUnit, timeoutMs: app.verifyTimeoutMs }, { ...deps, reporter }),
  };
}
