/**
 * Writing the monitor's own files (state, control, lock, pidfile, log) so that no write ever
 * follows a symbolic link and nobody can choose the file we write. The monitor often runs as
 * root: a link planted at a name we are about to write would make root overwrite a file of the
 * planter's choice. So:
 * - a new file is created with O_CREAT|O_EXCL|O_NOFOLLOW (fails on anything already there,
 *   links included), mode 0600;
 * - a replacement is written to a temp file with a random name (nobody can plant it in advance),
 *   fsynced, and renamed over the target (rename replaces a link, it never writes through it);
 * - an existing file is opened with O_NOFOLLOW and must be a regular file with one link (a hard
 *   link to someone else's file is as bad as a symlink).
 * A leaf: node's fs and our errors only.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UnsafePathError } from '../errors.js';

const { O_WRONLY, O_RDONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_APPEND, O_DIRECTORY } = constants;

/** Files we create are private to the monitor's user: they can hold circuit state and URLs. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Create `path` with `data`, only if nothing (not even a dangling link) is there.
 * False when something exists; other errors are thrown.
 */
export function createExclusive(path: string, data: string | Uint8Array, mode = PRIVATE_FILE_MODE): boolean {
  let fd: number;
  try {
    fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    // The umask may have taken bits away, never added: set the mode we mean.
    fchmodSync(fd, mode);
    writeAll(fd, data);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Replace `path` with `data` atomically: a random-named temp file beside it (O_EXCL, O_NOFOLLOW,
 * 0600), fsync, rename over the target, fsync of the folder. Readers see the old or the new
 * file, never half of one. A link at `path` is replaced, its target untouched.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = PRIVATE_FILE_MODE): void {
  const tmp = tempNameFor(path);
  const fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  let renamed = false;
  try {
    try {
      fchmodSync(fd, mode);
      writeAll(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) quietUnlink(tmp);
  }
  syncDir(dirname(path));
}

/** `writeFileAtomic` of a JSON document, pretty-printed with a final newline. */
export function writeJsonAtomic(path: string, doc: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(doc, null, 2)}\n`);
}

/** A temp name beside `path` nobody can guess ahead of us: `.state.json.<16 hex>.tmp`. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
}

export type ReadResult =
  | { readonly kind: 'ok'; readonly bytes: Buffer }
  | { readonly kind: 'missing' }
  /** There, but not something we read: a link, a folder, a hard-linked or oversized file. */
  | { readonly kind: 'unsafe'; readonly why: string };

/** Read one of our files without following a link; `maxBytes` bounds what a planted file can cost. */
export function readOwnFile(path: string, maxBytes = 64 * 1024 * 1024): ReadResult {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'unsafe', why: 'it is a symbolic link' };
    return { kind: 'unsafe', why: `cannot open it (${code ?? String(err)})` };
  }
  try {
    const st = fstatSync(fd);
    const bad = irregular(st);
    if (bad) return { kind: 'unsafe', why: bad };
    if (st.size > maxBytes) return { kind: 'unsafe', why: `it is ${st.size} bytes, more than the ${maxBytes} allowed` };
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(65536, maxBytes + 1 - total) || 1);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) return { kind: 'unsafe', why: `it grew past the ${maxBytes} bytes allowed` };
    }
    return { kind: 'ok', bytes: Buffer.concat(chunks, total) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Make sure `path` is a private regular file we may append to (winston's log file), creating it
 * 0600 when missing. Throws UnsafePathError for a link, a folder or a hard-linked file, so the
 * logger never opens something a planter chose. An existing file of ours is tightened to 0600.
 */
export function ensureAppendable(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, PRIVATE_FILE_MODE);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UnsafePathError(path, `${path} is a symbolic link: refusing to write through it (remove it; the monitor creates the file itself)`);
    throw err;
  }
  try {
    const st = fstatSync(fd);
    const bad = irregular(st);
    if (bad) throw new UnsafePathError(path, `${path}: ${bad}; refusing to write to it`);
    if (st.uid === process.geteuid?.() && (st.mode & 0o077) !== 0) fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

/**
 * Keep a file we will not use beside it (`state.json.<label>-2024-05-01T12-00-00-000Z`) and
 * return where it went. With the bytes we read, they are copied into a new private file and the
 * original stays until its owner replaces it; without (a link, a folder: nothing we read), the
 * entry itself is moved aside by rename, which never follows a link.
 */
export function setAside(path: string, bytes: Uint8Array | undefined, label: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (let n = 0; n < 100; n++) {
    const aside = `${path}.${label}-${stamp}${n === 0 ? '' : `-${n}`}`;
    if (bytes === undefined) {
      if (statOrUndefined(aside)) continue;
      renameSync(path, aside);
      return aside;
    }
    if (createExclusive(aside, bytes)) return aside;
  }
  throw new Error(`cannot find a free name to keep ${path} aside`);
}

/**
 * Append `data` to one of our line logs (the kill log), creating it 0600; no link is followed and
 * a hard-linked file or a non-file is refused (UnsafePathError). Bounded: when the file would grow
 * past `maxBytes`, it is first renamed to `<path>.1` (replacing the older one; rename never
 * follows a link), so between `maxBytes` and twice that of the newest lines survive.
 */
export function appendBounded(path: string, data: string, maxBytes: number): void {
  const buf = Buffer.from(data, 'utf8');
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, PRIVATE_FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafePathError(path, `${path} is a symbolic link: refusing to write through it`);
      throw err;
    }
    let rotate = false;
    try {
      const st = fstatSync(fd);
      const bad = irregular(st);
      if (bad) throw new UnsafePathError(path, `${path}: ${bad}; refusing to write to it`);
      if (st.uid === process.geteuid?.() && (st.mode & 0o077) !== 0) fchmodSync(fd, PRIVATE_FILE_MODE);
      if (attempt === 0 && st.size > 0 && st.size + buf.length > maxBytes) rotate = true;
      else writeAll(fd, buf);
    } finally {
      closeSync(fd);
    }
    if (!rotate) return;
    renameSync(path, `${path}.1`);
  }
}

/** Flags for opening an existing file for appending without following a link (for fs streams). */
export const APPEND_NOFOLLOW = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW;

function irregular(st: { isFile(): boolean; nlink: number }): string | undefined {
  if (!st.isFile()) return 'it is not a regular file';
  if (st.nlink > 1) return `it has ${st.nlink} hard links (a link to another file)`;
  return undefined;
}

function writeAll(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** Make a rename durable; a folder that cannot be opened or synced only costs durability. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, O_RDONLY | O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    // not every filesystem lets a folder be fsynced
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function statOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function quietUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
