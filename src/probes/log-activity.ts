/**
 * The log-inactivity rule (monitor_mutex's): an app whose log file stops changing for `timeout`
 * is silent. Activity is any change of size (growth, or truncation), mtime or inode (rotation):
 * a rotated or truncated log counts as activity, never as silence. A missing file is reported,
 * not fatal. One tracker per app holds what it saw last; time is monotonic and injected.
 */
import { statSync } from 'node:fs';

export type LogActivityOutcome =
  | { readonly ok: true; readonly file: string; readonly newBytes: number; readonly silentMs: number; readonly rotated: boolean }
  | { readonly ok: false; readonly file: string; readonly failure: 'silent' | 'missing'; readonly silentMs: number; readonly detail: string };

interface Seen {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

export class LogActivityTracker {
  private seen: Seen | undefined;
  private lastActivity: number;

  constructor(
    readonly file: string,
    private readonly timeoutMs: number,
    now: number,
    private readonly stat: (path: string) => Seen | undefined = statFile,
  ) {
    this.lastActivity = now;
    this.seen = stat(file);
  }

  /** Look at the file now. */
  observe(now: number): LogActivityOutcome {
    const cur = this.stat(this.file);
    const silentMs = now - this.lastActivity;
    if (!cur) return { ok: false, file: this.file, failure: 'missing', silentMs, detail: `log file ${this.file} does not exist` };
    const prev = this.seen;
    this.seen = cur;
    const rotated = prev !== undefined && (cur.ino !== prev.ino || cur.size < prev.size);
    const changed = prev === undefined || rotated || cur.size !== prev.size || cur.mtimeMs !== prev.mtimeMs;
    if (changed) {
      this.lastActivity = now;
      return { ok: true, file: this.file, newBytes: prev && !rotated ? cur.size - prev.size : cur.size, silentMs: 0, rotated };
    }
    if (silentMs >= this.timeoutMs) {
      return { ok: false, file: this.file, failure: 'silent', silentMs, detail: `no new log lines in ${this.file} for ${Math.round(silentMs / 1000)} s (timeout ${Math.round(this.timeoutMs / 1000)} s)` };
    }
    return { ok: true, file: this.file, newBytes: 0, silentMs, rotated: false };
  }

  /** Count silence from now (after a restart). */
  reset(now: number): void {
    this.lastActivity = now;
    this.seen = this.stat(this.file);
  }
}

function statFile(path: string): Seen | undefined {
  try {
    const s = statSync(path);
    return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
  } catch {
    return undefined;
  }
}
