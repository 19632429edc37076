/**
 * The folder that holds the monitor's lock, state, control and log (state_dir). Whoever can
 * write into it can plant links where we write, fake a lock holder or feed us a state file, and
 * the monitor often runs as root. So it must be ours and closed to others:
 * - missing: created 0700;
 * - owned by another uid: refused. Its owner can do anything in it, and it is not ours to chmod;
 * - writable by its group or others: refused, not repaired. Someone opened it on purpose, and
 *   others may already have planted files there that a chmod would not remove; the operator has
 *   to look and decide;
 * - ours and only readable or searchable by others (0755, 0750): repaired to 0700. That is how
 *   earlier versions created it (mkdir's default, `timer install`), and since nobody else could
 *   write into it, everything in it is ours: tightening it loses nothing.
 * A leaf: node's fs and our errors only.
 */
import { chmodSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { UnsafePathError } from '../errors.js';

export const PRIVATE_DIR_MODE = 0o700;

export interface PrivateDir {
  readonly path: string;
  /** We made it just now. */
  readonly created: boolean;
  /** It was ours but readable by others; it is 0700 now. The old mode, to tell the operator. */
  readonly repairedFrom?: number;
}

/** Create or check a private folder of ours; throws UnsafePathError when it cannot be trusted. */
export function ensurePrivateDir(dir: string, label = 'state_dir'): PrivateDir {
  let st = statOrUndefined(dir);
  let created = false;
  if (!st) {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    created = true;
    st = statSync(dir);
    // mkdir's mode is filtered by the umask; set the one we mean (on the folder we created).
    if (st.isDirectory() && ownedByUs(st) && (st.mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(dir, PRIVATE_DIR_MODE);
    st = statSync(dir);
  }
  const euid = process.geteuid?.();
  if (!st.isDirectory()) throw new UnsafePathError(dir, `${label} ${dir} is not a directory`);
  if (euid === undefined) return { path: dir, created }; // no uids (Windows): nothing to judge
  if (st.uid !== euid) {
    throw new UnsafePathError(
      dir,
      `${label} ${dir} is owned by uid ${st.uid}, not by the monitor's user (uid ${euid}): its owner could plant files the monitor trusts. ` +
        `Give it to uid ${euid} (chown ${euid} ${dir}) or set ${label} to a folder of that user`,
    );
  }
  const mode = st.mode & 0o777;
  if ((mode & 0o022) !== 0) {
    throw new UnsafePathError(
      dir,
      `${label} ${dir} is writable by ${(mode & 0o020) !== 0 ? 'its group' : ''}${(mode & 0o022) === 0o022 ? ' and ' : ''}${(mode & 0o002) !== 0 ? 'everyone' : ''} (mode ${octal(mode)}): ` +
        `anyone who can write there could plant links or a fake lock. Check what is in it, then make it private: chmod 700 ${dir}`,
    );
  }
  if (mode !== PRIVATE_DIR_MODE && (mode & 0o077) !== 0) {
    chmodSync(dir, PRIVATE_DIR_MODE);
    return { path: dir, created, repairedFrom: mode };
  }
  return { path: dir, created };
}

/** `0o755` -> `0755`. */
export function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

function ownedByUs(st: Stats): boolean {
  const euid = process.geteuid?.();
  return euid === undefined || st.uid === euid;
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
