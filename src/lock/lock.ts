/**
 * The single-instance lock: a JSON file under state_dir (a private folder, see fsx/private-dir),
 * created with O_EXCL|O_NOFOLLOW so exactly one process wins however many start at once and a
 * planted link is never written through. A stale lock is taken over under a short-lived guard
 * file (also O_EXCL), so two processes that both see it stale cannot both win. The owner renews
 * a heartbeat (atomic rename of a random-named temp file) and removes the file when it exits.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, unlinkSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { formatDuration } from '../config/duration.js';
import { LockHeldError } from '../errors.js';
import { ensurePrivateDir } from '../fsx/private-dir.js';
import { createExclusive as createFile, readOwnFile, writeFileAtomic } from '../fsx/safe-write.js';
import { isGoneState, procFacts } from '../proc/read.js';
import { judgeHolder, type HolderFacts, type LockRecord } from './holder.js';
import { describeHolder, isLockRole, type LockRole } from './role.js';

export { describeHolder, type LockRole } from './role.js';

/** Lock files this process holds now: a record naming our pid is ours only if listed here. */
const heldHere = new Set<string>();

export interface LockOptions {
  readonly path: string;
  /** Which door takes it: recorded, so a refused start can say who holds the lock. */
  readonly role?: LockRole;
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
  ensurePrivateDir(dirname(options.path));
  const facts: HolderFacts = {
    hostname: osHostname(),
    nowMs: Date.now(),
    probe: probePid,
    remoteStaleAfterMs: options.remoteStaleAfterMs ?? 10 * 60_000,
    self: { pid: process.pid, holds: heldHere.has(resolve(options.path)) },
  };
  const mine = ownRecord(facts.hostname, options.role);
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
  const key = resolve(options.path);
  heldHere.add(key);
  let released = false;
  const isOurs = (cur: ReturnType<typeof readRecord>): cur is LockRecord =>
    typeof cur !== 'string' && cur.pid === record.pid && cur.started_at === record.started_at && cur.token === record.token;
  const beat = setInterval(() => {
    if (released) return;
    try {
      if (!isOurs(readRecord(options.path))) return; // no longer ours: never overwrite
      writeRecord(options.path, { ...record, heartbeat_at: new Date().toISOString() });
    } catch {
      // a failed heartbeat is retried at the next beat
    }
  }, options.heartbeatMs ?? 30_000);
  beat.unref();
  const release = (): void => {
    if (released) return;
    released = true;
    clearInterval(beat);
    process.off('exit', release);
    heldHere.delete(key);
    if (isOurs(readRecord(options.path))) safeUnlink(options.path);
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
    writeRecord(options.path, mine);
    const why = seen === 'corrupt'
      ? 'the lock file was unreadable'
      : judgeHolder(seen, { hostname: osHostname(), nowMs: Date.now(), probe: probePid, remoteStaleAfterMs: options.remoteStaleAfterMs ?? 600_000, self: { pid: process.pid, holds: false } }).why;
    options.onTakeover?.(why, seen === 'corrupt' ? undefined : seen);
    return true;
  } finally {
    safeUnlink(guard);
  }
}

function ownRecord(host: string, role: LockRole | undefined): LockRecord {
  const now = new Date().toISOString();
  const facts = procFacts(process.pid);
  return {
    pid: process.pid, hostname: host, started_at: now, heartbeat_at: now,
    ...(role === undefined ? {} : { role }),
    command: process.argv.slice(1).join(' '),
    ...(facts === undefined ? {} : { start_ticks: facts.startTicks, cmdline: facts.command }),
    token: randomBytes(8).toString('hex'),
  };
}

function probePid(pid: number): { alive: true; startTicks?: number; cmdline?: string } | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined; // kill(0|-1, 0) would address groups
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  const facts = procFacts(pid);
  if (!facts) return { alive: true }; // no /proc: alive is all we know
  if (isGoneState(facts.state)) return undefined; // a zombie holds nothing
  return { alive: true, startTicks: facts.startTicks, cmdline: facts.command };
}

function createExclusive(path: string, record: LockRecord): boolean {
  return createFile(path, `${JSON.stringify(record)}\n`);
}

function writeRecord(path: string, record: LockRecord): void {
  writeFileAtomic(path, `${JSON.stringify(record)}\n`);
}

/** The record, or why there is none; a link or anything but a regular file reads as corrupt (and is replaced, never followed). */
function readRecord(path: string): LockRecord | 'gone' | 'corrupt' | 'writing' {
  const r = readOwnFile(path, 64 * 1024);
  if (r.kind === 'missing') return 'gone';
  if (r.kind === 'unsafe') return 'corrupt';
  const text = r.bytes.toString('utf8');
  // An empty file is a creator between open and write, unless it has been empty for a while.
  if (text === '') return Date.now() - mtimeMs(path) < 5000 ? 'writing' : 'corrupt';
  try {
    const rec = JSON.parse(text) as Partial<LockRecord> | null;
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) return 'corrupt';
    if (!Number.isInteger(rec.pid) || typeof rec.hostname !== 'string' || typeof rec.started_at !== 'string') return 'corrupt';
    return {
      pid: rec.pid!, hostname: rec.hostname, started_at: rec.started_at,
      ...(isLockRole(rec.role) ? { role: rec.role } : {}),
      heartbeat_at: typeof rec.heartbeat_at === 'string' ? rec.heartbeat_at : rec.started_at,
      command: typeof rec.command === 'string' ? rec.command : '',
      ...(Number.isInteger(rec.start_ticks) ? { start_ticks: rec.start_ticks! } : {}),
      ...(typeof rec.cmdline === 'string' ? { cmdline: rec.cmdline } : {}),
      ...(typeof rec.token === 'string' ? { token: rec.token } : {}),
    };
  } catch {
    return 'corrupt';
  }
}

function mtimeMs(path: string): number {
  try {
    return lstatSync(path).mtimeMs;
  } catch {
    return 0;
  }
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
  if (rec.pid === process.pid) return new LockHeldError(`this process (pid ${rec.pid}) already holds the lock ${path}`, rec.pid);
  const age = Date.now() - Date.parse(rec.started_at);
  return new LockHeldError(
    `another helpdesk-monitor holds the lock: ${describeHolder(rec)} on ${rec.hostname}, running for ${Number.isFinite(age) ? formatDuration(age) : '?'}. ` +
      `If that process is really gone, remove ${path}.`,
    rec.pid,
  );
}

/** Who holds the lock, and is that holder alive? undefined when nobody does. */
export function inspectLock(path: string, remoteStaleAfterMs = 600_000): { readonly record: LockRecord; readonly live: boolean; readonly why: string } | undefined {
  const rec = readRecord(path);
  if (typeof rec === 'string') return undefined;
  const v = judgeHolder(rec, { hostname: osHostname(), nowMs: Date.now(), probe: probePid, remoteStaleAfterMs, self: { pid: process.pid, holds: heldHere.has(resolve(path)) } });
  return { record: rec, live: v.live, why: v.why };
}
