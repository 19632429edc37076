/** Driving the real `helpdesk-monitor` CLI (dist/src/cli/index.js) as a child process. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, waitFor } from './sandbox.js';
import type { PidLedger } from './holders.js';

export interface CliResult {
  /** Exit code, or null when ended by a signal (e.g. our timeout). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** An env for the CLI: the given base without any config pointer of ours. */
export function cliEnv(base: NodeJS.ProcessEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...base, ...extra };
  if (!('HELPDESK_MONITOR_CONFIG' in extra)) delete env['HELPDESK_MONITOR_CONFIG'];
  delete env['helpdesk-monitor'];
  return env;
}

/** Run the CLI to completion (killed after `timeoutMs`). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
      resolve({
        code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
        signal: e?.signal ?? null,
        stdout,
        stderr,
      });
    });
  });
}

/** A file with exactly this text in a fresh dir under `parent` (e.g. the sandbox home, removed at teardown). */
export function writeRaw(text: string, name: string, parent: string = tmpdir()): string {
  const file = join(mkdtempSync(join(parent, 'hdm-cli-')), name);
  writeFileSync(file, text);
  return file;
}

export interface RunningCli {
  readonly child: ChildProcess;
  /** Everything written to stderr so far, split into lines. */
  readonly stderrLines: string[];
  readonly stdout: () => string;
  /** Resolves with the exit code (or the signal) when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Wait for a stderr line matching `re` that appeared after line `from`; returns its index. */
  waitForLine(re: RegExp, timeoutMs?: number, from?: number): Promise<{ index: number; line: string }>;
}

/** Start a long-running CLI command; its pid goes into the ledger for cleanup. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv, ledger: PidLedger): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid) ledger.add(child.pid);
  const stderrLines: string[] = [];
  let partial = '';
  let out = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    stderrLines.push(...parts);
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      if (partial) stderrLines.push(partial);
      partial = '';
      resolve({ code, signal });
    });
  });
  return {
    child,
    stderrLines,
    stdout: () => out,
    exited,
    async waitForLine(re, timeoutMs = 20_000, from = 0) {
      const find = (): { index: number; line: string } | undefined => {
        const index = stderrLines.findIndex((l, i) => i >= from && re.test(l));
        return index >= 0 ? { index, line: stderrLines[index]! } : undefined;
      };
      const result = await waitFor(
        `a stderr line matching ${re}`,
        () => find() ?? (child.exitCode !== null || child.signalCode !== null ? 'exited' : undefined),
        timeoutMs,
        25,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\nstderr so far:\n${stderrLines.join('\n')}`);
      });
      if (result === 'exited') {
        await exited;
        const late = find();
        if (late) return late;
        throw new Error(`the CLI exited (${child.exitCode ?? child.signalCode}) before printing ${re}; stderr:\n${stderrLines.join('\n')}`);
      }
      return result;
    },
  };
}
