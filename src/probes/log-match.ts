/**
 * The log-line rule: count lines matching a pattern in the app's log files and fire when
 * `min_count` of them fall within `window`. Only bytes written since the last check are read (at
 * most `max_read` per file and check: a larger backlog is skipped to its newest part, so a
 * flooding app cannot make a check slow); lines are cut at 8 KiB; rotation (a new inode) and
 * truncation (a smaller size) start the file from its beginning, as the log-inactivity rule
 * treats them. Patterns run on RE2 (linear time: no pattern can stall the monitor). A firing
 * clears the count, and reset() (a new instance) forgets it and skips to the files' ends.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { RE2JS } from 're2js';
import { MAX_LINE_BYTES, compilePattern, type LogMatchConfig } from '../config/rules.js';
import { printable } from '../text/printable.js';

export type LogMatchOutcome =
  | { readonly fired: false; readonly count: number; readonly newBytes: number; readonly skippedBytes: number }
  | { readonly fired: true; readonly count: number; readonly newBytes: number; readonly skippedBytes: number; readonly detail: string; readonly line: string };

interface FileState {
  ino: number;
  offset: number;
  /** The start of a line not ended yet (at most MAX_LINE_BYTES kept). */
  carry: Buffer;
  /** The current line passed MAX_LINE_BYTES: bytes up to its newline are dropped. */
  overlong: boolean;
}

/** What one file yielded in one check. */
interface Read {
  readonly lines: string[];
  readonly newBytes: number;
  readonly skippedBytes: number;
}

const NL = 0x0a;
/** How much of a matching line a message quotes. */
const QUOTE_CHARS = 200;

export class LogMatchTracker {
  private readonly re: RE2JS;
  private readonly files = new Map<string, FileState | undefined>();
  /** Matches inside the window, oldest first: [time, how many at that time]. */
  private hits: [number, number][] = [];

  constructor(
    readonly rule: LogMatchConfig,
    files: readonly string[],
  ) {
    this.re = compilePattern(rule.pattern);
    this.watch(files);
  }

  /** The files this tracker reads, as a key (a change of files means a new tracker). */
  get key(): string {
    return [...this.files.keys()].join('\n');
  }

  /** Read what was written since the last check and count the matches. */
  observe(now: number): LogMatchOutcome {
    let newBytes = 0;
    let skippedBytes = 0;
    let last: { line: string; file: string } | undefined;
    let matched = 0;
    for (const file of this.files.keys()) {
      const r = this.readNew(file);
      newBytes += r.newBytes;
      skippedBytes += r.skippedBytes;
      for (const line of r.lines) {
        if (!this.re.test(line)) continue;
        matched++;
        last = { line, file };
      }
    }
    if (matched > 0) this.hits.push([now, matched]);
    this.hits = this.hits.filter(([t]) => now - t < this.rule.windowMs);
    const count = this.hits.reduce((n, [, k]) => n + k, 0);
    if (count < this.rule.minCount || !last) return { fired: false, count, newBytes, skippedBytes };
    this.hits = [];
    const line = printable(last.line).slice(0, QUOTE_CHARS);
    const within = this.rule.minCount === 1 ? '' : ` within ${Math.round(this.rule.windowMs / 1000)} s`;
    return {
      fired: true, count, newBytes, skippedBytes, line,
      detail: `log matched /${this.rule.pattern}/ ${count} time${count === 1 ? '' : 's'}${within} (min_count ${this.rule.minCount}) in ${last.file}: "${line}"`,
    };
  }

  /** A new instance: forget the count and skip what was written before now. */
  reset(): void {
    this.hits = [];
    this.watch([...this.files.keys()]);
  }

  private watch(files: readonly string[]): void {
    this.files.clear();
    for (const f of files) this.files.set(f, this.atEnd(f));
  }

  /** A file's state at its current end (undefined: it does not exist yet; it is read from 0 once it does). */
  private atEnd(file: string): FileState | undefined {
    return withFd(file, (fd) => {
      const s = fstatSync(fd);
      return { ino: s.ino, offset: s.size, carry: Buffer.alloc(0), overlong: false };
    });
  }

  private readNew(file: string): Read {
    const none: Read = { lines: [], newBytes: 0, skippedBytes: 0 };
    return withFd(file, (fd): Read => {
      const s = fstatSync(fd);
      let st = this.files.get(file);
      // Rotated (a new file under the name) or truncated: read it from its start.
      if (!st || st.ino !== s.ino || s.size < st.offset) st = { ino: s.ino, offset: 0, carry: Buffer.alloc(0), overlong: false };
      this.files.set(file, st);
      const pending = s.size - st.offset;
      if (pending <= 0) return none;
      let skippedBytes = 0;
      if (pending > this.rule.maxReadBytes) {
        // Too much since the last check: keep the newest part, starting at a line boundary.
        skippedBytes = pending - this.rule.maxReadBytes;
        st.offset += skippedBytes;
        st.carry = Buffer.alloc(0);
        st.overlong = true;
      }
      const buf = Buffer.allocUnsafe(s.size - st.offset);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, st.offset + got);
        if (n === 0) break;
        got += n;
      }
      st.offset += got;
      return { lines: splitLines(st, buf.subarray(0, got)), newBytes: got, skippedBytes };
    }) ?? none;
  }
}

/** Complete lines of `chunk` after what the file state carries; the unfinished tail is carried on. */
export function splitLines(st: FileState, chunk: Buffer): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let nl = chunk.indexOf(NL, start); nl !== -1; nl = chunk.indexOf(NL, start)) {
    const piece = chunk.subarray(start, nl);
    start = nl + 1;
    if (st.overlong) {
      // The rest of a line already cut (or skipped into): nothing more of it is matched.
      st.overlong = false;
      if (st.carry.length > 0) lines.push(st.carry.toString('utf8'));
      st.carry = Buffer.alloc(0);
      continue;
    }
    const line = st.carry.length === 0 ? piece : Buffer.concat([st.carry, piece]);
    st.carry = Buffer.alloc(0);
    lines.push(line.subarray(0, MAX_LINE_BYTES).toString('utf8'));
  }
  const tail = chunk.subarray(start);
  if (!st.overlong && tail.length > 0) {
    const room = MAX_LINE_BYTES - st.carry.length;
    st.carry = Buffer.concat([st.carry, tail.subarray(0, Math.max(0, room))]);
    if (tail.length >= room) st.overlong = true;
  }
  return lines;
}

/** Run `fn` on the file open for reading; undefined when it cannot be opened (missing, no access). */
function withFd<T>(file: string, fn: (fd: number) => T): T | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    return fn(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
