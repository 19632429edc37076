/**
 * The real monitor as a child process: `node dist/src/cli/index.js run --config FILE`, with its
 * log lines (stderr) captured, the app's phase followed from them, and its memory read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI } from '../../test/helpers/sandbox.js';

export interface MonitorLine {
  readonly at: number;
  readonly text: string;
}

export interface MonitorMemory {
  /** Resident set size now (VmRSS), KiB. */
  readonly rssKiB: number;
  /** Peak resident set size so far (VmHWM), KiB. */
  readonly hwmKiB: number;
}

export interface MonitorChildOptions {
  readonly configPath: string;
  readonly env: NodeJS.ProcessEnv;
  /** Each log line as it arrives. */
  readonly onLine?: (text: string) => void;
  readonly verbose?: boolean;
}

const PHASE = /\[([^\]]+)\] (unknown|healthy|failing|remedying|unhealthy|stopped|missing) -> (\w+)/;
const REMEDY_OK = /\[([^\]]+)\] remedy succeeded: healthy again after (\d+)ms/;

export class MonitorChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last lines (bounded). */
  readonly lines: MonitorLine[] = [];
  /** The app's phase as the monitor last logged it. */
  readonly phases = new Map<string, string>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly waiters = new Set<(l: MonitorLine) => void>();
  private seq = 0;

  constructor(private readonly options: MonitorChildOptions) {
    const args = [CLI, 'run', '--config', options.configPath, ...(options.verbose ? ['--verbose'] : [])];
    this.child = spawn(process.execPath, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (!this.child.pid) throw new Error('could not start the monitor');
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let buf = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const text = buf.slice(0, i).trimEnd();
          buf = buf.slice(i + 1);
          if (text) this.take(text);
        }
      });
    }
  }

  /** Running (not exited)? */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** A mark to pass to `since` / `waitFor`: lines after it are "new". */
  mark(): number {
    return this.seq;
  }

  /** Lines logged after a mark. */
  since(mark: number): string[] {
    const skip = this.seq - mark;
    return this.lines.slice(Math.max(0, this.lines.length - skip)).map((l) => l.text);
  }

  /** The monitor's own time-to-healthy for the last successful remedy after `mark`, if any. */
  remedyMsSince(mark: number): number | undefined {
    let ms: number | undefined;
    for (const t of this.since(mark)) {
      const m = REMEDY_OK.exec(t);
      if (m) ms = Number(m[2]);
    }
    return ms;
  }

  /** Wait for a line matching `re` logged after `mark`. */
  waitFor(re: RegExp, timeoutMs: number, mark = this.seq): Promise<string> {
    const already = this.since(mark).find((t) => re.test(t));
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`the monitor did not log ${re} within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (l: MonitorLine): void => {
        if (!re.test(l.text)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(l.text);
      };
      this.waiters.add(check);
      void this.exited.then(() => {
        if (!this.waiters.has(check)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        reject(new Error(`the monitor exited (${this.describeExit()}) before logging ${re}`));
      });
    });
  }

  /** VmRSS / VmHWM from /proc/<pid>/status (Linux), undefined when unreadable. */
  memory(): MonitorMemory | undefined {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'latin1');
      const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
      const m = { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
      return Number.isFinite(m.rssKiB) ? m : undefined;
    } catch {
      return undefined;
    }
  }

  describeExit(): string {
    if (!this.exitInfo) return 'running';
    return this.exitInfo.signal ? `signal ${this.exitInfo.signal}` : `exit code ${this.exitInfo.code}`;
  }

  /** SIGTERM (the monitor stops cleanly), then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    try {
      this.child.kill('SIGTERM');
    } catch {
      // gone
    }
    const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref());
    if ((await Promise.race([this.exited, timer])) === 'late' && this.running) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        // gone
      }
      await this.exited;
    }
  }

  private take(text: string): void {
    const line = { at: performance.now(), text };
    this.seq++;
    this.lines.push(line);
    if (this.lines.length > 500) this.lines.splice(0, this.lines.length - 500);
    const m = PHASE.exec(text);
    if (m) this.phases.set(m[1]!, m[3]!);
    if (this.options.onLine) this.options.onLine(text);
    for (const w of [...this.waiters]) w(line);
  }
}
