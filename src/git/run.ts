/**
 * Run one outside program (git, or an update command under `sh -c`) with a hard deadline: its own
 * process group, stdin closed, stdout kept (capped) for parsing, and a tail of what it printed for
 * the story. At the deadline the whole group is SIGKILLed, and the result is decided then: a git
 * that waits on a dead NFS mount or a build that hangs never holds an update longer than its limit.
 * Git never prompts: no terminal prompt, no askpass, ssh in BatchMode.
 */
import { spawn } from 'node:child_process';

export interface RunResult {
  /** Exit code; null when a signal ended it or it never started. */
  readonly code: number | null;
  readonly signal?: string;
  readonly timedOut: boolean;
  /** The program could not be started (ENOENT, EACCES). */
  readonly spawnError?: string;
  /** stdout, up to the cap. */
  readonly stdout: string;
  /** The last bytes of stdout and stderr as they came, for the story. */
  readonly tail: string;
  readonly ms: number;
}

export interface RunOptions {
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Bytes of stdout kept for parsing (default 1 MiB). */
  readonly maxStdout?: number;
}

const TAIL_BYTES = 4096;
/** After SIGKILL at the deadline, how long we wait for the exit before deciding without it. */
const KILL_WAIT_MS = 1000;
/** After the program exited, how long its output may still arrive through pipes a leftover holds. */
const DRAIN_MS = 200;

/**
 * The environment git runs with: never a prompt, stable messages, and no hooks. A hook is a
 * command, and with core.hooksPath pointing into the work tree (husky) it would come from the
 * tree being deployed: the monitor runs only the commands of its own config.
 */
export function gitEnv(base: NodeJS.ProcessEnv = process.env, sshCommand?: string): NodeJS.ProcessEnv {
  // A monitor started from a git hook inherits GIT_DIR and friends: they would point every call
  // at that repository instead of the app's.
  const { GIT_DIR: _d, GIT_WORK_TREE: _w, GIT_INDEX_FILE: _i, GIT_OBJECT_DIRECTORY: _o, GIT_COMMON_DIR: _c, ...clean } = base;
  const n = Number.parseInt(base['GIT_CONFIG_COUNT'] ?? '0', 10) || 0;
  return {
    ...clean,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    // The repo's own core.sshCommand (a deploy key) is kept, in batch mode.
    GIT_SSH_COMMAND: `${sshCommand ?? base['GIT_SSH_COMMAND'] ?? 'ssh'} -o BatchMode=yes -o ConnectTimeout=15`,
    GIT_CONFIG_COUNT: String(n + 1),
    [`GIT_CONFIG_KEY_${n}`]: 'core.hooksPath',
    [`GIT_CONFIG_VALUE_${n}`]: '/dev/null',
    LC_ALL: 'C',
  };
}

export function runProcess(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const maxStdout = options.maxStdout ?? 1024 * 1024;
  return new Promise((resolve) => {
    let stdout = '';
    let tail = '';
    let settled = false;
    let timedOut = false;
    const done = (r: Omit<RunResult, 'stdout' | 'tail' | 'ms' | 'timedOut'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(giveUp);
      clearTimeout(drain);
      resolve({ ...r, timedOut, stdout, tail, ms: Date.now() - started });
    };
    const child = spawn(file, [...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const keep = (chunk: Buffer, isOut: boolean): void => {
      const text = chunk.toString('utf8');
      if (isOut && stdout.length < maxStdout) stdout += text.slice(0, maxStdout - stdout.length);
      tail = (tail + text).slice(-TAIL_BYTES);
    };
    child.stdout.on('data', (c: Buffer) => keep(c, true));
    child.stderr.on('data', (c: Buffer) => keep(c, false));
    let giveUp: NodeJS.Timeout | undefined;
    let drain: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
      giveUp = setTimeout(() => done({ code: null, signal: 'SIGKILL' }), KILL_WAIT_MS);
    }, options.timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => done({ code: null, spawnError: err.code ?? err.message }));
    child.on('close', (code, signal) => done({ code, ...(signal ? { signal } : {}) }));
    // A leftover of the command (a `… &` job, a daemon) may hold our pipes open long after the
    // command exited: its exit decides, after a short drain of what it printed.
    child.on('exit', (code, signal) => {
      if (timedOut) return;
      drain = setTimeout(() => done({ code, ...(signal ? { signal } : {}) }), DRAIN_MS);
    });
  });
}

/** git with the no-prompt environment. */
export function git(args: readonly string[], cwd: string, timeoutMs: number, sshCommand?: string): Promise<RunResult> {
  return runProcess('git', args, { cwd, timeoutMs, env: gitEnv(process.env, sshCommand) });
}

/** One line for a result that failed: the reason and the last line it printed. */
export function failureText(r: RunResult, timeoutMs: number): string {
  if (r.spawnError) return r.spawnError === 'ENOENT' ? 'not found (is it installed and on PATH?)' : `could not start: ${r.spawnError}`;
  // git says what went wrong on its first fatal:/error: line; hints follow it.
  const said = r.tail.split(/\r?\n/).map((l) => l.trim()).find((l) => /^(fatal|error):/.test(l));
  const last = said ?? lastLines(r.tail, 2);
  if (r.timedOut) return `timed out after ${timeoutMs} ms${last ? `: ${last}` : ''}`;
  const how = r.code === null ? `killed by ${r.signal ?? 'a signal'}` : `exit ${r.code}`;
  return `${how}${last ? `: ${last}` : ''}`;
}

/** The last `n` non-empty lines of a text, joined by " | ". */
export function lastLines(text: string, n: number): string {
  return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).slice(-n).join(' | ');
}

/** Only a group we started: the negative pid of our own detached child. */
function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
