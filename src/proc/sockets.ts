/**
 * Listening TCP sockets from /proc: which socket inodes listen on given ports, which processes
 * hold them, and which sockets a set of processes still has open. A full scan of a quiet machine
 * takes ~10 ms and needs no external binaries (find-process needs ss/lsof/netstat).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { isGoneState, listPids, readStat } from './read.js';

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

/** Socket inodes among a process's open fds ([] when gone or unreadable). */
function socketFds(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return []; // gone, a zombie, or not ours to read
  }
  const out: string[] = [];
  for (const fd of fds) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:[')) out.push(link.slice(8, -1));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Pids whose open fds link to one of the socket inodes: inode -> pids. */
export function socketOwners(inodes: ReadonlySet<string>): Map<string, number[]> {
  const owners = new Map<string, number[]>();
  if (inodes.size === 0) return owners;
  for (const pid of listPids()) {
    for (const inode of socketFds(pid)) {
      if (!inodes.has(inode)) continue;
      const list = owners.get(inode) ?? [];
      if (!list.includes(pid)) list.push(pid);
      owners.set(inode, list);
    }
  }
  return owners;
}

const PF_EXITING = 0x4;

/**
 * Socket inodes the given processes still have open, or undefined while one of them is exiting:
 * an exiting process closes its fds before the kernel releases the sockets behind them, so its fd
 * list may already lack a socket that still listens. A zombie whose threads are all gone has
 * released everything. While a process runs, its fds answer in microseconds (a TCP table read
 * costs ~10 ms). This is a question about sockets, not about life: a process is gone (isLive)
 * as soon as it is a zombie, but its sockets may outlive that by a moment.
 */
export function socketsOf(pids: readonly number[]): Set<string> | undefined {
  const out = new Set<string>();
  for (const pid of pids) {
    const found = socketFds(pid);
    // Read after the fds: a process seen running now was running while we listed them.
    const s = readStat(pid);
    if (s === undefined) continue;
    if (isGoneState(s.state) && s.threads <= 1) continue;
    if (isGoneState(s.state) || (s.flags & PF_EXITING) !== 0) return undefined;
    for (const inode of found) out.add(inode);
  }
  return out;
}
