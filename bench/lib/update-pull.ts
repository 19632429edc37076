/**
 * The `pm2 pull` baseline as bench/update.ts runs it: update-pull-child.js in a child process (its
 * own sandbox, daemon with PM2_ENABLE_GIT_PARSING=true), its progress lines passed through, its
 * one JSON line read back. `stop()` asks a running child to clean up and waits for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** What the child reports. Times are ms from the `pm2 pull` call. */
export interface PullResult {
  readonly pullMs: number;
  readonly pullExit: number;
  /** The lines of pm2's output that say what it did. */
  readonly pullSaid: readonly string[];
  readonly watchMs: number;
  /** The deploy clone is on the bad commit after the watch (PM2 did not roll back). */
  readonly headIsBad: boolean;
  /** PM2's status of the app at the end of the watch. */
  readonly status: string;
  /** PM2 restarts from before the pull to the end of the watch. */
  readonly restarts: number;
  readonly erroredAfterMs?: number;
  /** The first request that did not get v1's 200. */
  readonly downMs?: number;
  /** The first 200 after that, if any. */
  readonly healthyAgainMs?: number;
  readonly requests: number;
  readonly ok200: number;
  /** "boot failure in v2" lines in the app's error log. */
  readonly bootFailures: number;
  readonly answers: string;
}

const CHILD = join(import.meta.dirname, 'update-pull-child.js');

export class PullChild {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;

  /** Run the child to its end; `say` gets its progress lines. */
  run(port: number, watchMs: number, say: (line: string) => void, capMs = 180_000): Promise<PullResult> {
    const child = spawn(process.execPath, [CHILD, '--port', String(port), '--watch-ms', String(watchMs)], {
      env: { ...process.env, PM2_ENABLE_GIT_PARSING: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let stdout = '';
    let errTail = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    let partial = '';
    child.stderr!.on('data', (c: Buffer) => {
      const lines = (partial + c.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        errTail = `${errTail}\n${l}`.slice(-2000);
        say(`  [pm2 pull part] ${l}`);
      }
    });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    const cap = setTimeout(() => void this.stop(), capMs);
    return this.exited.then((code) => {
      clearTimeout(cap);
      this.child = undefined;
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line) throw new Error(`the pm2 pull part exited ${code}${errTail ? `: ${errTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
      return JSON.parse(line) as PullResult;
    });
  }

  /** Ask a running child to clean up (SIGTERM: it tears its sandbox down) and wait for it, at most 60 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 60_000))]);
  }
}
