/**
 * Helpers for the operator-side integration tests (wrapper, check/status, hook, lock, timer):
 * configs written inside the sandbox home (removed at teardown), the CLI env for a sandbox,
 * tracked stray port holders, and small /proc readers that do not depend on src/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import assert from 'node:assert/strict';
import { cliEnv, type RunningCli } from './cli.js';
import { holdersOf, type PidLedger, type ProcIdentity } from './holders.js';
import { exampleApp, waitFor, type Sandbox } from './sandbox.js';
import type { ProcessInfo } from '../../src/pm2/adapter.js';

/** The env every CLI child of a test gets: the sandbox env and its PM2_HOME, no config pointer. */
export function sandboxCliEnv(sb: Sandbox, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cliEnv({ ...sb.env, PM2_HOME: sb.home }, extra);
}

/** Start `options` (default: the example app on `port`) under the sandbox's PM2; resolves once PM2's pid answers /health. */
export async function startHealthy(sb: Sandbox, name: string, port: number, options: Record<string, unknown> = exampleApp(name, port)): Promise<ProcessInfo> {
  await sb.start(options);
  try {
    return await waitFor(`${name} healthy`, async () => {
      const info = await sb.info(name);
      return info?.status === 'online' && (await healthPid(port)) === info.pid ? info : undefined;
    }, 30_000);
  } catch (err) {
    // Say what was there instead: PM2's view of the app, who answered on the port, who holds it.
    const info = await sb.info(name).catch(() => undefined);
    const holders = holdersOf(port).map((h) => `pid ${h.pid} (${h.command})`).join(', ');
    throw new Error(`${(err as Error).message}: PM2 says ${info ? `${info.status}, pid ${info.pid}, ${info.restarts} restarts` : 'nothing'}; /health answered by pid ${await healthPid(port)}; port ${port} held by ${holders || 'nobody'}`, { cause: err });
  }
}

/** A fresh directory under `parent` (the sandbox home, so teardown removes it). */
export function freshDir(parent: string, label: string): string {
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(join(parent, `${label}-`));
}

/** Write a YAML (or .json) config into a fresh dir under `parent`; returns its absolute path. */
export function configIn(parent: string, doc: unknown, name = 'monitor.yaml'): string {
  const file = join(freshDir(parent, 'cfg'), name);
  writeFileSync(file, name.endsWith('.json') ? JSON.stringify(doc, null, 2) : YAML.stringify(doc));
  return file;
}

export interface Stray {
  readonly child: ChildProcess;
  readonly id: ProcIdentity;
  /** Resolves with how the stray ended. */
  readonly ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * A stray listener on `port` (127.0.0.1), started with `cwd` (inside an app's kill_scope when it
 * is the app's cwd). Tracked in the ledger; resolves once it holds the port.
 */
export async function spawnStray(port: number, cwd: string, ledger: PidLedger): Promise<Stray> {
  const code = `require('net').createServer().listen(${port}, '127.0.0.1')`;
  const child = spawn(process.execPath, ['-e', code], { cwd, stdio: 'ignore' });
  const ended = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const pid = child.pid;
  if (!pid) throw new Error('could not spawn the stray');
  const id = ledger.add(pid);
  if (!id) throw new Error(`the stray ${pid} died at once`);
  await waitFor(`the stray (pid ${pid}) listening on ${port}`, () => holdersOf(port).some((h) => h.pid === pid), 10_000, 20);
  return { child, id, ended };
}

/** A long-lived idle node process (a stand-in lock holder), tracked in the ledger. */
export function spawnIdle(ledger: PidLedger): { child: ChildProcess; pid: number; ended: Promise<unknown> } {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
  const pid = child.pid;
  if (!pid) throw new Error('could not spawn an idle process');
  ledger.add(pid);
  return { child, pid, ended: once(child, 'exit') };
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), read here independently of src/. */
export function startTicksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // comm (field 2) may hold spaces and parentheses: fields 3.. follow the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[22 - 3]);
  if (!Number.isInteger(ticks)) throw new Error(`cannot read start ticks of ${pid}: ${stat}`);
  return ticks;
}

/** Is a pid alive (and not a zombie)? */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Pids whose command line mentions `needle` (e.g. a PM2_HOME path in the daemon's title). */
export function pidsWithCommandLine(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(needle)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The pid that answered /health (the example app reports its own pid), or 0. */
export async function healthPid(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    if (res.status !== 200) return 0;
    return ((await res.json()) as { pid?: number }).pid ?? 0;
  } catch {
    return 0;
  }
}

/** A step line of the wrapper's output: `✔ app: label (12ms): detail`; returns the duration text. */
export function stepLine(stderr: string, app: string, label: string): { ok: boolean; took: string; detail: string } | undefined {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^([✔✘]) ${esc(app)}: ${esc(label)} \\((\\d+(?:\\.\\d+)?(?:ms|s|m|h))\\)(?:: (.*))?$`, 'm').exec(stderr);
  return m ? { ok: m[1] === '✔', took: m[2]!, detail: m[3] ?? '' } : undefined;
}

/** Start the example app in the sandbox and wait until its own instance serves /health. */
export async function startExampleHealthy(sb: Sandbox, name: string, port: number, timeoutMs = 30_000): Promise<void> {
  await sb.start(exampleApp(name, port));
  await waitFor(`${name} healthy`, async () => {
    const info = await sb.info(name);
    return info?.status === 'online' && (await healthPid(port)) === info.pid;
  }, timeoutMs);
}

/** Wait until `name` runs a new instance (not `old`) that answers /health on `port` with its own pid. */
export function waitReplaced(sb: Sandbox, name: string, port: number, old: number, timeoutMs: number): Promise<ProcessInfo> {
  return waitFor(`${name} replaced by a healthy instance`, async () => {
    const info = await sb.info(name);
    return info && info.status === 'online' && info.pid !== old && (await healthPid(port)) === info.pid ? info : undefined;
  }, timeoutMs, 50);
}

/** SIGTERM a running `run` (if still running) and assert it exits 0 within 20 s. */
export async function stopRun(run: RunningCli): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  const end = await Promise.race([run.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
  assert.deepEqual(end, { code: 0, signal: null }, `run exits 0 on SIGTERM, whatever the receivers do:\n${run.stderrLines.slice(-10).join('\n')}`);
}
