/**
 * Linux /proc readers, all synchronous so the preload hook can use them before an app starts:
 * listening TCP sockets by port, socket owners by inode, and per-process facts. A full scan of a
 * quiet machine takes ~10 ms and needs no external binaries (find-process needs ss/lsof/netstat).
 */
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';

export const procAvailable = ((): boolean => {
  try {
    return process.platform === 'linux' && statSync('/proc/net/tcp').isFile();
  } catch {
    return false;
  }
})();

/** LISTEN sockets on the given ports: inode -> port. */
export function listeningInodes(ports: ReadonlySet<number>): Map<string, number> {
  const found = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const cols = lines[i]!.trim().split(/\s+/);
      // cols: sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode
      if (cols.length < 10 || cols[3] !== '0A') continue;
      const local = cols[1]!;
      const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (ports.has(port) && cols[9] !== '0') found.set(cols[9]!, port);
    }
  }
  return found;
}

/** Pids whose open fds link to one of the socket inodes: inode -> pids. */
export function socketOwners(inodes: ReadonlySet<string>): Map<string, number[]> {
  const owners = new Map<string, number[]>();
  if (inodes.size === 0) return owners;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!link.startsWith('socket:[')) continue;
      const inode = link.slice(8, -1);
      if (!inodes.has(inode)) continue;
      const list = owners.get(inode) ?? [];
      if (!list.includes(pid)) list.push(pid);
      owners.set(inode, list);
    }
  }
  return owners;
}

/**
 * Socket inodes the given processes still have open, or undefined while one of them is exiting:
 * an exiting process closes its fds before the kernel releases the sockets behind them, so its fd
 * list may already lack a socket that still listens. A zombie whose threads are all gone has
 * released everything. While a process runs, its fds answer in microseconds (a TCP table read
 * costs ~10 ms).
 */
export function socketsOf(pids: readonly number[]): Set<string> | undefined {
  const out = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      // gone, a zombie, or not ours: decided below
    }
    const found: string[] = [];
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (link.startsWith('socket:[')) found.push(link.slice(8, -1));
      } catch {
        // closed meanwhile
      }
    }
    const life = lifeOf(pid);
    if (life === 'exiting') return undefined;
    if (life === 'running') for (const s of found) out.add(s);
  }
  return out;
}

const PF_EXITING = 0x4;

/** Read after the fds: a process seen running now was running while we listed them. */
function lifeOf(pid: number): 'running' | 'exiting' | 'gone' {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    const flags = Number(rest[6]);
    const threads = Number(rest[17]);
    // A zombie with no live threads left has finished exiting: its sockets are released.
    if ((state === 'Z' || state === 'X') && threads <= 1) return 'gone';
    return state === 'Z' || state === 'X' || (flags & PF_EXITING) !== 0 ? 'exiting' : 'running';
  } catch {
    return 'gone';
  }
}

export interface ProcFacts {
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number;
  /** Command line joined with spaces ('' for kernel threads or when unreadable). */
  readonly command: string;
  readonly cwd?: string;
  /** Start time in clock ticks since boot: tells a reused pid from the original. */
  readonly startTicks: number;
  readonly state: string;
}

/** Facts about one process, or undefined when it is gone. */
export function procFacts(pid: number): ProcFacts | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm may contain spaces and parentheses: fields start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    let command = '';
    try {
      // One line, bounded: it goes into logs and tables.
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').replace(/\s+/g, ' ').slice(0, 200);
    } catch {
      // unreadable cmdline: leave empty
    }
    let cwd: string | undefined;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // another user's process: cwd unknown
    }
    return {
      pid,
      ppid: Number(rest[1]),
      uid,
      command,
      ...(cwd === undefined ? {} : { cwd }),
      startTicks: Number(rest[19]),
      state: rest[0] ?? '?',
    };
  } catch {
    return undefined;
  }
}

/** Pid and all its ancestors up to init. */
export function ancestry(pid: number): number[] {
  const chain: number[] = [];
  let cur: number | undefined = pid;
  for (let guard = 0; cur !== undefined && cur > 0 && guard < 256; guard++) {
    chain.push(cur);
    const next: number | undefined = procFacts(cur)?.ppid;
    if (next === undefined || next === cur) break;
    cur = next;
  }
  return chain;
}

function ppidOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** All descendants of the given roots (children found through /proc ppid links). */
export function descendants(roots: readonly number[]): Set<number> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const ppid = ppidOf(pid);
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
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
