/**
 * The sustained-memory rule: an app whose RSS (optionally with its child processes) stays above
 * max_memory for `for` checks in a row is over; a short spike resets the count. Unlike PM2's
 * max_memory_restart, which restarts on the first sample above the limit.
 */
import { readRssBytes } from '../proc/read.js';
import { descendants } from '../proc/tree.js';

export type MemoryOutcome =
  | { readonly ok: true; readonly rssBytes: number; readonly above: number }
  | { readonly ok: false; readonly rssBytes: number; readonly above: number; readonly detail: string };

/** Resident memory of the pids (and their descendants), from /proc/<pid>/status. */
export function rssOf(pids: readonly number[], includeChildren: boolean): number {
  const all = new Set(pids.filter((p) => p > 0));
  if (includeChildren) for (const d of descendants([...all])) all.add(d);
  let total = 0;
  for (const pid of all) total += readRssBytes(pid);
  return total;
}

export class MemoryTracker {
  private above = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly forChecks: number,
  ) {}

  /** Feed one sample. */
  observe(rssBytes: number): MemoryOutcome {
    this.above = rssBytes > this.maxBytes ? this.above + 1 : 0;
    if (this.above < this.forChecks) return { ok: true, rssBytes, above: this.above };
    const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
    return { ok: false, rssBytes, above: this.above, detail: `memory ${mib(rssBytes)} above max_memory ${mib(this.maxBytes)} for ${this.above} checks in a row` };
  }

  reset(): void {
    this.above = 0;
  }
}
