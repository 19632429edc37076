/**
 * The monitor's log as files on disk: the current file and the ones rotated out of it, oldest
 * first, gzipped or not. winston's File transport with `tailable: true` (logger.ts) keeps the
 * current lines in the configured name and shifts older ones to `<base>1<ext>`, `<base>2<ext>`, ...
 * (`monitor1.log`: the newest rotated; with `gzip: true`, `monitor1.log.gz`). A reload may turn
 * gzip on or off, so both forms are taken, told apart by their first bytes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';

export interface LogFile {
  readonly path: string;
  /** 0 for the current file; n for `<base>n<ext>` (higher is older). */
  readonly generation: number;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The log file and its rotated siblings that exist, oldest first (the current file last). */
export function logFiles(file: string): LogFile[] {
  const dir = dirname(file);
  const ext = extname(file);
  const base = basename(file, ext);
  const rotated = new RegExp(`^${escape(base)}([1-9][0-9]{0,5})${escape(ext)}(\\.gz)?$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: LogFile[] = [];
  for (const name of names) {
    if (name === basename(file)) found.push({ path: file, generation: 0 });
    const m = rotated.exec(name);
    if (m) found.push({ path: join(dir, name), generation: Number(m[1]) });
  }
  // Both `monitor1.log` and `monitor1.log.gz` (gzip switched on by a reload): the plain one is newer.
  return found.sort((a, b) => b.generation - a.generation || (a.path.endsWith('.gz') ? -1 : 1) - (b.path.endsWith('.gz') ? -1 : 1));
}

/** A log file's text, gunzipped when it is gzip (a file cut short while it was being written gives what it has). */
export function readLogText(path: string): { text: string; gzip: boolean } {
  const buf = readFileSync(path);
  const gzip = buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  if (!gzip) return { text: buf.toString('utf8'), gzip };
  return { text: gunzipSync(buf, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8'), gzip };
}
