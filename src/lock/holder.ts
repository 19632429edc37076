/**
 * Judging a lock holder, purely: live (keep out), or stale (take over) and why. A live holder on
 * this host is never displaced because of age (the flaw of the original lock). A holder must
 * still be the process that wrote the record: a reused pid is told apart by its start time, a
 * process running another command line by its /proc cmdline, and a record naming pid 1 or
 * anything that is not a node process (a planted or hand-made lock) never keeps us out. A record
 * naming our own pid is ours only while we hold it: otherwise it is a leftover of an earlier
 * start in this process, and treating it as live would lock us out of our own lock forever.
 * A holder on another host (shared filesystem) is stale only when its heartbeat is older than
 * the limit.
 */
import type { LockRole } from './role.js';

export interface LockRecord {
  readonly pid: number;
  /** Which door wrote it (absent in records written before the field existed: see role.ts). */
  readonly role?: LockRole;
  readonly hostname: string;
  /** Wall-clock ISO times: for people and for other hosts. */
  readonly started_at: string;
  readonly heartbeat_at: string;
  readonly command: string;
  /** The holder's start time in clock ticks since boot (Linux), to detect pid reuse. */
  readonly start_ticks?: number;
  /** The holder's /proc cmdline (arguments joined by spaces) when it took the lock. */
  readonly cmdline?: string;
  /** Random, per acquisition: tells our record from a later one of the same pid. */
  readonly token?: string;
}

export interface HolderFacts {
  readonly hostname: string;
  /** Wall clock now (ms): heartbeats come from other hosts, so monotonic time cannot compare. */
  readonly nowMs: number;
  /** Is `pid` alive on this host (a zombie is not), with which start ticks and cmdline? undefined when gone. */
  readonly probe: (pid: number) => { readonly alive: true; readonly startTicks?: number; readonly cmdline?: string } | undefined;
  readonly remoteStaleAfterMs: number;
  /** This process: its pid, and whether it holds this very lock now. */
  readonly self?: { readonly pid: number; readonly holds: boolean };
}

export type HolderVerdict = { readonly live: true; readonly why: string } | { readonly live: false; readonly why: string };

/** Is the recorded holder still the live owner? */
export function judgeHolder(rec: LockRecord, facts: HolderFacts): HolderVerdict {
  if (rec.hostname !== facts.hostname) {
    const age = facts.nowMs - Date.parse(rec.heartbeat_at);
    if (!Number.isFinite(age)) return { live: false, why: `holder on ${rec.hostname} has an unreadable heartbeat` };
    return age > facts.remoteStaleAfterMs
      ? { live: false, why: `holder pid ${rec.pid} on ${rec.hostname} has not renewed its heartbeat for ${Math.round(age / 1000)} s` }
      : { live: true, why: `held by pid ${rec.pid} on ${rec.hostname} (heartbeat ${Math.round(age / 1000)} s ago)` };
  }
  if (rec.pid === 1) return { live: false, why: 'the lock names pid 1 (init), which is never a helpdesk-monitor' };
  if (facts.self && rec.pid === facts.self.pid) {
    return facts.self.holds
      ? { live: true, why: `held by this process (pid ${rec.pid})` }
      : { live: false, why: `the lock names this process (pid ${rec.pid}), which does not hold it: a leftover of an earlier start` };
  }
  const p = facts.probe(rec.pid);
  if (!p) return { live: false, why: `holder pid ${rec.pid} is no longer running` };
  if (rec.start_ticks !== undefined && p.startTicks !== undefined && p.startTicks !== rec.start_ticks) {
    return { live: false, why: `pid ${rec.pid} now belongs to another process (the holder exited and the pid was reused)` };
  }
  if (p.cmdline !== undefined) {
    if (rec.cmdline !== undefined && p.cmdline !== rec.cmdline) {
      return { live: false, why: `pid ${rec.pid} runs ${JSON.stringify(p.cmdline)}, not the helpdesk-monitor that wrote the lock (${JSON.stringify(rec.cmdline)})` };
    }
    if (!isNodeCommand(p.cmdline)) return { live: false, why: `pid ${rec.pid} is not a helpdesk-monitor (it runs ${JSON.stringify(p.cmdline)})` };
  }
  return { live: true, why: `held by live pid ${rec.pid}` };
}

/**
 * Every helpdesk-monitor is a node process: `node …/cli/index.js`, `node /usr/bin/helpdesk-monitor`
 * (a shebang), or under PM2 the title `node <script>`. Not proof of being ours, but it tells a
 * planted record naming sshd, a shell or a kernel thread (empty cmdline) from a real holder.
 */
export function isNodeCommand(cmdline: string): boolean {
  const first = cmdline.split(' ')[0] ?? '';
  return /^node(js)?[\d.]*$/.test(first.slice(first.lastIndexOf('/') + 1));
}
