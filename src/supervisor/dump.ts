/**
 * PM2's process list on disk (`$PM2_HOME/dump.pm2`, written by `pm2 save`) and the copy the
 * monitor keeps of the last good one. PM2 resurrects from an empty list as happily as from a full
 * one, and deletes a list it cannot parse (lib/API/Startup.js): users have lost their apps after
 * an OOM or a full disk (Unitech/pm2#5879, #5297). So every pass that sees a good dump (it
 * parses, it names at least one app) keeps a copy under state_dir when it changed, and a
 * resurrect never starts from a bad dump while a good copy exists.
 */
import { lchownSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from '../fsx/private-dir.js';
import { readOwnFile, writeFileAtomic } from '../fsx/safe-write.js';

/** What a dump file holds, judged. */
export type DumpVerdict =
  | { readonly kind: 'good'; readonly apps: readonly string[] }
  | { readonly kind: 'empty' | 'corrupt' | 'missing' | 'unsafe'; readonly why: string };

/** Where a dump can come from, best first. */
export type DumpSource = 'dump.pm2' | 'kept copy' | 'dump.pm2.bak';

const MAX_DUMP_BYTES = 32 * 1024 * 1024;

export const dumpPath = (home: string): string => join(home, 'dump.pm2');
export const backupDumpPath = (home: string): string => join(home, 'dump.pm2.bak');
export const keptDumpPath = (stateDir: string): string => join(stateDir, 'dump.pm2.good');

/** Judge a dump's text. Pure. Modules (pmx_module) are not apps: PM2 relaunches them by itself. */
export function judgeDumpText(text: string): DumpVerdict {
  if (text.trim() === '') return { kind: 'empty', why: 'it is empty (0 bytes of content)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { kind: 'corrupt', why: `it is not JSON (${(err as Error).message.slice(0, 120)})` };
  }
  if (!Array.isArray(parsed)) return { kind: 'corrupt', why: 'it is not a list of processes' };
  const apps: string[] = [];
  for (const entry of parsed) {
    if (typeof entry !== 'object' || entry === null) return { kind: 'corrupt', why: 'an entry is not an object' };
    const e = entry as { name?: unknown; pmx_module?: unknown };
    if (e.pmx_module === true) continue;
    if (typeof e.name !== 'string') return { kind: 'corrupt', why: 'an entry has no name' };
    apps.push(e.name);
  }
  return apps.length === 0 ? { kind: 'empty', why: 'it lists no app' } : { kind: 'good', apps };
}

/** Read and judge one dump file (never follows a link). */
export function readDump(path: string): { verdict: DumpVerdict; bytes?: Buffer } {
  const r = readOwnFile(path, MAX_DUMP_BYTES);
  if (r.kind === 'missing') return { verdict: { kind: 'missing', why: 'it does not exist' } };
  if (r.kind === 'unsafe') return { verdict: { kind: 'unsafe', why: r.why } };
  return { verdict: judgeDumpText(r.bytes.toString('utf8')), bytes: r.bytes };
}

export interface DumpChoice {
  readonly source: DumpSource;
  readonly path: string;
  readonly apps: readonly string[];
  /** The bytes to put in dump.pm2 first (the source is not dump.pm2 itself). */
  readonly restore?: Buffer;
  /** What was wrong with dump.pm2, when another source was chosen. */
  readonly instead?: string;
}

/** The dump to resurrect from, or why there is none. */
export function chooseDump(home: string, stateDir: string): { choice?: DumpChoice; why: string } {
  const main = readDump(dumpPath(home));
  if (main.verdict.kind === 'good') return { choice: { source: 'dump.pm2', path: dumpPath(home), apps: main.verdict.apps }, why: 'dump.pm2 is good' };
  const problem = `dump.pm2 is not usable: ${main.verdict.why}`;
  for (const [source, path] of [['kept copy', keptDumpPath(stateDir)], ['dump.pm2.bak', backupDumpPath(home)]] as const) {
    const other = readDump(path);
    if (other.verdict.kind === 'good' && other.bytes) {
      return { choice: { source, path, apps: other.verdict.apps, restore: other.bytes, instead: problem }, why: problem };
    }
  }
  return { why: `${problem}, and there is no good copy (none kept at ${keptDumpPath(stateDir)}, and dump.pm2.bak is not usable either)` };
}

/**
 * Keep a copy of dump.pm2 when it is good and differs from the kept one. Returns what happened,
 * for a log line (undefined: nothing to do). Cheap when nothing changed: a stat, then a read
 * only when size or time moved since the last look.
 */
export class DumpKeeper {
  private seen = '';

  constructor(
    private readonly home: string,
    private readonly stateDir: string,
  ) {}

  keep(): string | undefined {
    let stamp: string;
    try {
      const st = statSync(dumpPath(this.home));
      stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      return undefined;
    }
    if (stamp === this.seen) return undefined;
    this.seen = stamp;
    const now = readDump(dumpPath(this.home));
    if (now.verdict.kind !== 'good' || !now.bytes) return undefined;
    const kept = readDump(keptDumpPath(this.stateDir));
    if (kept.bytes?.equals(now.bytes)) return undefined;
    ensurePrivateDir(this.stateDir);
    writeFileAtomic(keptDumpPath(this.stateDir), now.bytes);
    return `kept a copy of dump.pm2 (${now.verdict.apps.length} app${now.verdict.apps.length === 1 ? '' : 's'}: ${now.verdict.apps.join(', ').slice(0, 200)}) at ${keptDumpPath(this.stateDir)}`;
  }
}

/** Put the chosen copy in place as dump.pm2, owned like PM2_HOME (so `pm2 save` can replace it). */
export function restoreDump(home: string, bytes: Buffer): void {
  writeFileAtomic(dumpPath(home), bytes);
  const owner = statSync(home);
  if (process.getuid?.() === 0 && owner.uid !== 0) lchownSync(dumpPath(home), owner.uid, owner.gid);
}
