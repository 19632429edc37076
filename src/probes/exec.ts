/**
 * The exec probe: the original monitor's `health_check_command` with `health_check_timeout`.
 * The command runs under `/bin/sh -c` in its own session and process group, stdin closed, with
 * stdout and stderr drained into small tails (the last 2 KiB of each) for the failure detail.
 * Exit 0 is healthy. At the deadline (or on abort) the whole tree is SIGKILLed: the process group,
 * plus every descendant found through /proc (children that called setsid left the group but not the
 * family). Nothing outside that tree is touched. The outcome is decided at the deadline at the
 * latest: a probe holds a concurrency slot, and a process the kernel is slow to take down (D state)
 * or a leftover holding our pipes must not hold it longer. Reaping the shell and waiting for the
 * killed descendants to be gone go on after that, so a probe every few seconds leaves no debris.
 *
 * `%s` stands for the app name. It is not pasted into the shell text: each `%s` becomes a quoted
 * expansion of `$HELPDESK_MONITOR_APP`, which carries the name, chosen by the quoting context it
 * sits in (bare, inside "...", inside '...'). An expansion is never re-parsed as shell syntax, so
 * no name can inject a command, and `test "%s" = "my app"` works as the author meant.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { buildScope } from '../ports/context.js';
import { killJudged } from '../ports/kill.js';
import { identify } from '../proc/identify.js';
import { isGoneState, isLive, listPids, procAvailable, readStat, withoutPm2Marks, type ProcIdentity } from '../proc/read.js';
import { descendants } from '../proc/tree.js';
import { waitUntil } from '../proc/wait.js';
import type { ExecOutcome } from './types.js';

export interface ExecSpec {
  readonly command: string;
  readonly timeoutMs: number;
  readonly appName: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** The variable that carries the app name into the command (also usable directly). */
export const APP_NAME_VAR = 'HELPDESK_MONITOR_APP';

/** Bytes kept from the end of each of stdout and stderr. */
const TAIL_BYTES = 2048;
/** After the shell exits, how long a leftover may hold our pipes open before we stop reading. */
const STDIO_GRACE_MS = 200;
/** After SIGKILL, how long to wait for the kernel (a process in D state cannot die at once). */
const REAP_WAIT_MS = 5000;
/** After a normal exit, how long to wait for SIGKILLed leftovers of its group to be gone. */
const LEFTOVER_WAIT_MS = 1000;
const POLL_MS = 5;

/** Cleanups still running after their probe was decided at its deadline. */
const lingering = new Set<Promise<void>>();

/**
 * Resolves once every probe decided at its deadline has also finished its cleanup (shell reaped,
 * killed descendants gone, pipes closed, or given up on after REAP_WAIT_MS). For tests and for a
 * caller about to exit that wants no debris.
 */
export async function execCleanupsDone(): Promise<void> {
  while (lingering.size > 0) await Promise.all([...lingering]);
}

/**
 * Replace each `%s` by an expansion of $HELPDESK_MONITOR_APP quoted for where it stands:
 * bare `"${VAR}"`, inside double quotes `${VAR}`, inside single quotes `'"${VAR}"'`.
 * A backslash-escaped `\%s` (outside single quotes) is left alone, as the shell would read it.
 */
export function substituteAppName(command: string): string {
  const v = `\${${APP_NAME_VAR}}`;
  let out = '';
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === '%' && command[i + 1] === 's') {
      out += quote === '' ? `"${v}"` : quote === '"' ? v : `'"${v}"'`;
      i++;
      continue;
    }
    out += c;
    if (quote === "'") {
      if (c === "'") quote = '';
    } else if (c === '\\') {
      if (i + 1 < command.length) out += command[++i];
    } else if (quote === '"') {
      if (c === '"') quote = '';
    } else if (c === "'" || c === '"') {
      quote = c;
    }
  }
  return out;
}

/** The last TAIL_BYTES of a stream. */
class Tail {
  private buf: Buffer = Buffer.alloc(0);
  private total = 0;

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (chunk.length >= TAIL_BYTES) {
      this.buf = Buffer.from(chunk.subarray(chunk.length - TAIL_BYTES)); // copy: do not pin a big chunk
    } else {
      const joined = Buffer.concat([this.buf, chunk]);
      this.buf = joined.length > TAIL_BYTES ? joined.subarray(joined.length - TAIL_BYTES) : joined;
    }
  }

  /** One line: whitespace and control characters collapsed, '…' in front when output was cut. */
  text(): string {
    const s = this.buf.toString('utf8').replace(/^\uFFFD+/, '').replace(/[\s\p{Cc}]+/gu, ' ').trim();
    return s && this.total > this.buf.length ? `…${s}` : s;
  }
}

/**
 * SIGKILL the tree of the shell `pid`, which must not be reaped yet (so neither its pid nor its
 * group id can have been reused). The group is ours (we spawned its leader). Descendants that left
 * the group (setsid) are not: each is identified before anything is killed (a killed parent's
 * children move to init and out of reach) and signalled through the one judged road, as a
 * descendant of our shell, re-checked by start time right before its SIGKILL. Returns the
 * descendants to wait for.
 */
function killTree(pid: number): ProcIdentity[] {
  const tree = procAvailable ? [...descendants([pid])].map(identify).filter((v) => v !== undefined) : [];
  const scope = buildScope({ scope: 'app', app: { name: 'exec probe', pids: [pid], ...(process.getuid ? { uid: process.getuid() } : {}) } });
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already empty
  }
  for (const v of tree) killJudged(v, scope, 'SIGKILL');
  return tree;
}

/**
 * Does process group `pgid` still have a live member? Signal 0 answers "any member" at once; only
 * when one exists is /proc scanned, because dead members stay in the group as zombies until their
 * parent reaps them, and an orphan's new parent (init) may take seconds to do so.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EPERM') return false; // ESRCH: empty
  }
  if (!procAvailable) return true;
  return listPids().some((pid) => {
    const s = readStat(pid);
    return s !== undefined && s.pgrp === pgid && !isGoneState(s.state);
  });
}

/** Wait until the killed descendants are gone and the group is empty, or the limit passes. */
function waitGone(victims: readonly ProcIdentity[], pgid: number, limitMs: number): Promise<boolean> {
  return waitUntil(() => !victims.some(isLive) && !groupAlive(pgid), { limitMs, firstMs: POLL_MS, maxMs: POLL_MS * 4 });
}

/** A delay setTimeout takes as given (it turns NaN or more than ~24.8 days into 1 ms). */
function timerMs(ms: number): number {
  return Number.isNaN(ms) ? 0 : Math.min(Math.max(0, ms), 2_147_483_647);
}

function oneLine(s: string, max = 300): string {
  const t = s.replace(/[\s\p{Cc}]+/gu, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** Run the command once. Never throws; resolves after the shell is reaped. */
export async function probeExec(spec: ExecSpec, signal?: AbortSignal): Promise<ExecOutcome> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  if (signal?.aborted) return { ok: false, latencyMs: 0, failure: 'timeout', detail: 'aborted before it started' };

  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', substituteAppName(spec.command)], {
      cwd: spec.cwd,
      // Without the monitor's own PM2 marks: what the command leaves behind must not pass for an app's.
      env: { ...withoutPm2Marks(spec.env ?? process.env), [APP_NAME_VAR]: spec.appName },
      detached: true, // setsid(): own session and process group, so the group id is the shell's pid
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    return spawnFailure(err, elapsed(), spec.cwd);
  }

  return new Promise<ExecOutcome>((resolve) => {
    const out = new Tail();
    const err = new Tail();
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.stdout?.on('error', () => {});
    child.stderr?.on('error', () => {});

    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let stopped: 'timeout' | 'abort' | undefined;
    let stdioClosed = false;
    let victimsGone = false;
    let stuck = false;
    /** The deadline passed or the caller aborted: decide now, whatever cleanup is still running. */
    let cut = false;
    let done = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let giveUpTimer: NodeJS.Timeout | undefined;
    let endCleanup: (() => void) | undefined;

    const detach = (): void => {
      signal?.removeEventListener('abort', onAbort);
    };
    const stopReading = (): void => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    };
    const tail = (): string => {
      const t = err.text() || out.text();
      return t ? `: ${t}` : '';
    };

    const settle = (): void => {
      const finished = (exitInfo !== undefined && stdioClosed && victimsGone) || stuck;
      if (finished) {
        clearTimeout(graceTimer);
        clearTimeout(giveUpTimer);
        endCleanup?.();
      }
      if (done) return;
      if (!finished && !cut) return;
      if (!stopped && !exitInfo) return; // no pid yet: the 'error' handler decides
      done = true;
      detach();
      clearTimeout(deadline);
      if (!finished) {
        // Decided before the cleanup ended: the grace and give-up timers still end it.
        const cleanup = new Promise<void>((r) => (endCleanup = r));
        lingering.add(cleanup);
        void cleanup.then(() => lingering.delete(cleanup));
      }
      const latencyMs = elapsed();
      if (stopped) {
        const why = stopped === 'abort' ? 'aborted' : `no exit within ${spec.timeoutMs} ms`;
        const note = stuck ? `, still not gone ${REAP_WAIT_MS} ms after SIGKILL` : '';
        resolve({ ok: false, latencyMs, failure: 'timeout', detail: `${why}, process tree killed${note}${tail()}` });
        return;
      }
      const { code, signal: sig } = exitInfo!;
      if (code === 0) {
        resolve({ ok: true, latencyMs, exitCode: 0 });
      } else if (code !== null) {
        resolve({ ok: false, latencyMs, failure: 'exit', exitCode: code, detail: `exit code ${code}${tail()}` });
      } else {
        const name = sig ?? 'unknown signal';
        resolve({ ok: false, latencyMs, failure: 'exit', signal: name, detail: `killed by ${name}${tail()}` });
      }
    };

    const stop = (why: 'timeout' | 'abort'): void => {
      // exitInfo is set synchronously when libuv reaps the shell: while it is unset, the pid (and
      // so the group id) still belongs to our shell, alive or zombie.
      if (done || exitInfo || stopped || child.pid === undefined) return;
      stopped = why;
      detach();
      const pgid = child.pid;
      const victims = killTree(pgid);
      giveUpTimer = setTimeout(() => {
        stuck = true;
        stopReading();
        settle();
      }, REAP_WAIT_MS);
      void waitGone(victims, pgid, REAP_WAIT_MS).then(() => {
        victimsGone = true;
        settle();
      });
    };
    const cutShort = (why: 'timeout' | 'abort'): void => {
      stop(why);
      cut = true;
      settle();
    };
    const onAbort = (): void => cutShort('abort');
    // Not cleared when the shell exits: leftovers holding our pipes or our group are waited for
    // only until the deadline (the command itself finished in time, so that outcome stands).
    const deadline = setTimeout(() => cutShort('timeout'), timerMs(spec.timeoutMs));
    signal?.addEventListener('abort', onAbort, { once: true });

    child.once('error', (e) => {
      // Only a failed spawn leaves no pid; other errors (none expected: we never call child.kill) are ignored.
      if (done || child.pid !== undefined) return;
      done = true;
      detach();
      clearTimeout(deadline);
      resolve(spawnFailure(e, elapsed(), spec.cwd));
    });
    child.once('exit', (code, sig) => {
      exitInfo = { code, signal: sig };
      if (!stopped) {
        detach();
        // The command finished: whatever it left running in its group goes too. The group id
        // stays reserved while any member lives, so this reaches only our leftovers.
        const pgid = child.pid!;
        let leftovers = true;
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          leftovers = false; // ESRCH: nothing left, the usual case
        }
        if (leftovers) {
          void waitGone([], pgid, LEFTOVER_WAIT_MS).then(() => {
            victimsGone = true;
            settle();
          });
        } else {
          victimsGone = true;
        }
      }
      // A leftover that escaped the group may still hold our pipes: stop reading after a grace.
      graceTimer = setTimeout(stopReading, STDIO_GRACE_MS);
      settle();
    });
    child.once('close', () => {
      stdioClosed = true;
      settle();
    });
  });
}

function spawnFailure(err: unknown, latencyMs: number, cwd: string | undefined): ExecOutcome {
  const e = err as { code?: string; message?: string };
  // spawn reports a missing cwd as "spawn /bin/sh ENOENT": say which one is missing.
  if (cwd !== undefined && e.code === 'ENOENT' && !isDirectory(cwd)) {
    return { ok: false, latencyMs, failure: 'spawn', detail: oneLine(`cannot start /bin/sh: cwd ${cwd} is not a directory`) };
  }
  const where = cwd === undefined ? '' : ` in ${cwd}`;
  return {
    ok: false, latencyMs, failure: 'spawn',
    detail: oneLine(`cannot start /bin/sh${where}: ${e.code ?? 'error'}: ${e.message ?? String(err)}`),
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
