/**
 * The single-instance lock: a JSON file under state_dir, created with O_EXCL so exactly one
 * process wins however many start at once. A stale lock is taken over under a short-lived guard
 * file (also O_EXCL), so two processes that both see it stale cannot both win. The owner renews
 * a heartbeat (atomic rename) and removes the file when it exits.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname } from 'node:path';
import { formatDuration } from '../config/duration.js';
import { LockHeldError } from '../errors.js';
import { procFacts } from '../ports/procfs.js';
import { judgeHolder, type HolderFacts, type LockRecord } from './holder.js';

export interface LockOptions {
  readonly path: string;
  /** A holder on another host is stale after this long without a heartbeat. */
  readonly remoteStaleAfterMs?: number;
  readonly heartbeatMs?: number;
  /** Told when a stale lock is taken over. */
  readonly onTakeover?: (why: string, previous: LockRecord | undefined) => void;
}

export interface HeldLock {
  readonly path: string;
  readonly record: LockRecord;
  /** Remove the lock if it is still ours. Idempotent. */
  release(): void;
}

/** Take the lock or throw LockHeldError (exit code 3) naming the holder. */
export function acquireLock(options: LockOptions): HeldLock {
  mkdirSync(dirname(options.path), { recursive: true });
  const facts: HolderFacts = {
    hostname: osHostname(),
    nowMs: Date.now(),
    probe: probePid,
    remoteStaleAfterMs: options.remoteStaleAfterMs ?? 10 * 60_000,
  };
  const mine = ownRecord(facts.hostname);
  for (let attempt = 0; attempt < 20; attempt++) {
    if (createExclusive(options.path, mine)) return hold(options, mine);
    const current = readRecord(options.path);
    if (current === 'gone') continue; // released between our two calls: try again
    if (current === 'writing') throw heldError(options.path, undefined, 'its lock file is being written');
    if (current !== 'corrupt') {
      const verdict = judgeHolder(current, { ...facts, nowMs: Date.now() });
      if (verdict.live) throw heldError(options.path, current, verdict.why);
    }
    if (takeOver(options, current, mine)) return hold(options, mine);
  }
  const last = readRecord(options.path);
  throw heldError(options.path, typeof last === 'string' ? undefined : last, 'could not take the lock after 20 attempts');
}

function hold(options: LockOptions, record: LockRecord): HeldLock {
  let released = false;
  const beat = setInterval(() => {
    if (released) return;
    const now = { ...record, heartbeat_at: new Date().toISOString() };
    const tmp = `${options.path}.${process.pid}.tmp`;
    try {
      const cur = readRecord(options.path);
      if (typeof cur === 'string' || cur.pid !== record.pid) return; // no longer ours: never overwrite
      writeFileAtomic(tmp, options.path, now);
    } catch {
      // a failed heartbeat is retried at the next beat
    }
  }, options.heartbeatMs ?? 30_000);
  beat.unref();
  const release = (): void => {
    if (released) return;
    released = true;
    clearInterval(beat);
    const cur = readRecord(options.path);
    if (typeof cur !== 'string' && cur.pid === record.pid && cur.started_at === record.started_at) {
      try {
        unlinkSync(options.path);
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', release);
  return { path: options.path, record, release };
}

/**
 * Replace a stale lock with ours under the guard. The file is replaced by an atomic rename, never
 * removed, so nobody can slip in an O_EXCL create between the stale owner and us. False when
 * someone else holds the guard or the lock changed hands meanwhile.
 */
function takeOver(options: LockOptions, seen: LockRecord | 'corrupt', mine: LockRecord): boolean {
  const guard = `${options.path}.takeover`;
  if (!createExclusive(guard, mine)) {
    const g = readRecord(guard);
    // A guard left by a process that died inside the takeover window.
    if (g === 'corrupt' || (typeof g !== 'string' && !probePid(g.pid))) safeUnlink(guard);
    return false;
  }
  try {
    const now = readRecord(options.path);
    const same =
      now === 'corrupt'
        ? seen === 'corrupt'
        : typeof now !== 'string' && typeof seen !== 'string' && now.pid === seen.pid && now.started_at === seen.started_at;
    if (!same) return false; // released or changed hands while we looked: judge again
    writeFileAtomic(`${options.path}.${process.pid}.tmp`, options.path, mine);
    const why = seen === 'corrupt' ? 'the lock file was unreadable' : judgeHolder(seen, { hostname: osHostname(), nowMs: Date.now(), probe: probePid, remoteStaleAfterMs: options.remoteStaleAfterMs ?? 600_000 }).why;
    options.onTakeover?.(why, seen === 'corrupt' ? undefined : seen);
    return true;
  } finally {
    safeUnlink(guard);
  }
}

function ownRecord(host: string): LockRecord {
  const now = new Date().toISOString();
  const ticks = procFacts(process.pid)?.startTicks;
  return {
    pid: process.pid, hostname: host, started_at: now, heartbeat_at: now,
    command: process.argv.slice(1).join(' '),
    ...(ticks === undefined ? {} : { start_ticks: ticks }),
  };
}

function probePid(pid: number): { alive: true; startTicks?: number } | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined; // kill(0|-1, 0) would address groups
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  const ticks = procFacts(pid)?.startTicks;
  return ticks === undefined ? { alive: true } : { alive: true, startTicks: ticks };
}

function createExclusive(path: string, record: LockRecord): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readRecord(path: string): LockRecord | 'gone' | 'corrupt' | 'writing' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return 'gone';
  }
  // An empty file is a creator between open and write, unless it has been empty for a while.
  if (text === '') return Date.now() - mtimeMs(path) < 5000 ? 'writing' : 'corrupt';
  try {
    const r = JSON.parse(text) as Partial<LockRecord>;
    if (typeof r.pid !== 'number' || typeof r.hostname !== 'string' || typeof r.started_at !== 'string') return 'corrupt';
    return { heartbeat_at: r.started_at, command: '', ...r } as LockRecord;
  } catch {
    return 'corrupt';
  }
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function writeFileAtomic(tmp: string, path: string, record: LockRecord): void {
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function safeUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function heldError(path: string, rec: LockRecord | undefined, why: string): LockHeldError {
  if (!rec) return new LockHeldError(`another helpdesk-monitor holds the lock (${why}); lock file ${path}`, 0);
  const age = Date.now() - Date.parse(rec.started_at);
  return new LockHeldError(
    `another helpdesk-monitor holds the lock: pid ${rec.pid} on ${rec.hostname}, running for ${Number.isFinite(age) ? formatDuration(age) : '?'} (${rec.command}). ` +
      `If that process is really gone, remove ${path}.`,
    rec.pid,
  );
}

/** Who holds the lock, and is that holder alive? undefined when nobody does. */
export function inspectLock(path: string, remoteStaleAfterMs = 600_000): { readonly record: LockRecord; readonly live: boolean; readonly why: string } | undefined {
  const rec = readRecord(path);
  if (typeof rec === 'string') return undefined;
  const v = judgeHolder(rec, { hostname: osHostname(), nowMs: Date.now(), probe: probePid, remoteStaleAfterMs });
  return { record: rec, live: v.live, why: v.why };
}
