/**
 * Process ancestry from /proc ppid links: who a process descends from (identity by lineage) and
 * who descends from a set of roots (an app's children, an exec probe's stray grandchildren).
 */
import { listPids, readPm2Marks, readStat, type Pm2Marks } from './read.js';

/** Pid and all its ancestors up to init (the pid first). */
export function ancestry(pid: number): number[] {
  const chain: number[] = [];
  let cur: number | undefined = pid;
  for (let guard = 0; cur !== undefined && cur > 0 && guard < 256; guard++) {
    chain.push(cur);
    const next: number | undefined = readStat(cur)?.ppid;
    if (next === undefined || next === cur) break;
    cur = next;
  }
  return chain;
}

/** ppid -> children, from one pass over /proc. */
export function childrenMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const pid of listPids()) {
    const ppid = readStat(pid)?.ppid;
    if (ppid === undefined) continue;
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  return children;
}

/** All descendants of the given roots (not the roots themselves). */
export function descendants(roots: readonly number[], children: ReadonlyMap<number, readonly number[]> = childrenMap()): Set<number> {
  const out = new Set<number>();
  const stack = [...roots];
  while (stack.length > 0) {
    const p = stack.pop()!;
    for (const c of children.get(p) ?? []) {
      if (!out.has(c)) {
        out.add(c);
        stack.push(c);
      }
    }
  }
  return out;
}

/** A process's ancestors (nearest first, init excluded) with their PM2 marks where readable. */
export function lineageOf(pid: number): { pid: number; marks?: Pm2Marks }[] {
  return ancestry(pid).slice(1).filter((p) => p > 1).map((p) => {
    const marks = readPm2Marks(p);
    return marks === undefined ? { pid: p } : { pid: p, marks };
  });
}
