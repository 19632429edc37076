/**
 * Everything the safety scope judges a process by, read in one go: uid, command, cwd, start time,
 * the PM2 marks in its environment and its lineage with theirs.
 */
import { procFacts, readPm2Marks, type Pm2Marks } from './read.js';
import { lineageOf } from './tree.js';

export interface ProcessIdentity {
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number;
  readonly command: string;
  readonly cwd?: string;
  readonly startTicks: number;
  readonly state: string;
  readonly marks?: Pm2Marks;
  readonly lineage: readonly { readonly pid: number; readonly marks?: Pm2Marks }[];
}

/** The identity of a live process, or undefined when it is gone. */
export function identify(pid: number): ProcessIdentity | undefined {
  const f = procFacts(pid);
  if (!f) return undefined;
  const marks = readPm2Marks(pid);
  return { ...f, ...(marks === undefined ? {} : { marks }), lineage: lineageOf(pid) };
}
