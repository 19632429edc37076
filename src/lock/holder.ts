/**
 * Judging a lock holder, purely: live (keep out), or stale (take over) and why. A live holder on
 * this host is never displaced because of age (the flaw of the original lock); a reused pid is
 * told apart by its process start time; a holder on another host (shared filesystem) is stale
 * only when its heartbeat is older than the limit.
 */
export interface LockRecord {
  readonly pid: number;
  readonly hostname: string;
  /** Wall-clock ISO times: for people and for other hosts. */
  readonly started_at: string;
  readonly heartbeat_at: string;
  readonly command: string;
  /** The holder's start time in clock ticks since boot (Linux), to detect pid reuse. */
  readonly start_ticks?: number;
}

export interface HolderFacts {
  readonly hostname: string;
  /** Wall clock now (ms): heartbeats come from other hosts, so monotonic time cannot compare. */
  readonly nowMs: number;
  /** Is `pid` alive on this host, and with which start ticks? undefined when gone. */
  readonly probe: (pid: number) => { readonly alive: true; readonly startTicks?: number } | undefined;
  readonly remoteStaleAfterMs: number;
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
  const p = facts.probe(rec.pid);
  if (!p) return { live: false, why: `holder pid ${rec.pid} is no longer running` };
  if (rec.start_ticks !== undefined && p.startTicks !== undefined && p.startTicks !== rec.start_ticks) {
    return { live: false, why: `pid ${rec.pid} now belongs to another process (the holder exited and the pid was reused)` };
  }
  return { live: true, why: `held by live pid ${rec.pid}` };
}
