/**
 * Operator input to a running (or the next) monitor: `pause`, `resume`, `reset` write
 * `<state_dir>/control.json`; the monitor watches it. Separate from state.json, which only the
 * monitor writes, so the two never race. Read through a schema: nothing in the file can stop
 * the monitor. A file that is not a control document, or an app entry that is invalid, is kept
 * aside once (control.json.corrupt-<time>, one warning) and the file is rewritten without it, so
 * the next read is clean; the app it named simply has no pause or reset. App names are keys of
 * null-prototype objects or a Map, so `__proto__` is just a name. Each change records who asked
 * (`paused_by`, `resumed_by`, `reset_by`: account, uid, pid of the command, sudo's user), so the
 * monitor can say it in its log; a file from before that, or a malformed who, is no error.
 */
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Control, Requester } from '../engine/view.js';
import { ensurePrivateDir } from '../fsx/private-dir.js';
import { readOwnFile, setAside, writeJsonAtomic } from '../fsx/safe-write.js';
import { issueText, oneLine } from './state-file.js';

/** Who asked, as control.json keeps it. */
export interface RequesterRecord {
  readonly user: string;
  readonly uid?: number;
  readonly pid?: number;
  readonly via?: string;
  readonly sudo_user?: string;
}

export interface ControlDocument {
  readonly version: 1;
  readonly apps: Readonly<Record<string, {
    readonly paused_until?: string;
    readonly paused_by?: RequesterRecord;
    readonly resumed_by?: RequesterRecord;
    readonly reset_at?: string;
    readonly reset_by?: RequesterRecord;
  }>>;
}

type Entry = ControlDocument['apps'][string];

export const controlFilePath = (dir: string): string => join(dir, 'control.json');

const isoTime = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'expected an ISO time');
const requesterSchema = z.object({
  user: z.string().min(1).max(256),
  uid: z.number().int().nonnegative().optional(),
  pid: z.number().int().positive().optional(),
  via: z.string().max(32).optional(),
  sudo_user: z.string().min(1).max(256).optional(),
});
// Who asked is information, not control: a malformed one is dropped, the pause or reset stays.
const who = requesterSchema.optional().catch(undefined);
const entrySchema = z.object({
  paused_until: z.union([z.literal('indefinite'), isoTime]).optional(),
  paused_by: who,
  resumed_by: who,
  reset_at: isoTime.optional(),
  reset_by: who,
});
// Entries are judged one by one (and zod would copy keys into a plain object, losing `__proto__`).
const documentSchema = z.object({
  version: z.literal(1).optional(),
  apps: z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'expected an object of apps by name'),
});

/** What was read: the valid entries, and what was wrong (undefined when nothing). */
interface ControlRead {
  readonly apps: Map<string, Entry>;
  readonly problem?: string;
  /** The bytes read (absent when the file could not be read at all, e.g. a link). */
  readonly bytes?: Buffer;
}

/**
 * Read the control file (missing: no control). A bad file or entry is kept aside and the file
 * rewritten without it; `warn` is told once, with where the copy went.
 */
export function readControl(path: string, warn?: (message: string) => void): Map<string, Control> {
  const read = loadControl(path);
  if (read.problem !== undefined) {
    const aside = keepAside(path, read);
    // Rewritten only if nobody changed it meanwhile (an operator's `pause` wins; the next read judges it).
    const now = readOwnFile(path);
    const unchanged = read.bytes === undefined ? now.kind !== 'ok' : now.kind === 'ok' && now.bytes.equals(read.bytes);
    if (unchanged) {
      try {
        writeJsonAtomic(path, toDocument(read.apps));
      } catch {
        // left as it is: judged again at the next read
      }
    }
    warn?.(`the control file ${path} ${read.problem}${aside}; the pauses and resets it held for those apps are dropped`);
  }
  const out = new Map<string, Control>();
  for (const [app, c] of read.apps) {
    const paused = c.paused_until === 'indefinite' ? 'indefinite' : c.paused_until ? Date.parse(c.paused_until) : undefined;
    const reset = c.reset_at ? Date.parse(c.reset_at) : undefined;
    out.set(app, {
      ...(paused !== undefined ? { pausedUntil: paused } : {}),
      ...(paused !== undefined && c.paused_by ? { pausedBy: fromRecord(c.paused_by) } : {}),
      ...(c.resumed_by ? { resumedBy: fromRecord(c.resumed_by) } : {}),
      ...(reset !== undefined ? { resetAt: reset } : {}),
      ...(reset !== undefined && c.reset_by ? { resetBy: fromRecord(c.reset_by) } : {}),
    });
  }
  return out;
}

/** A change to one app's control entry: a pause (until a time, or none), its end (null), a reset. */
export interface ControlUpdate {
  readonly pausedUntil?: number | 'indefinite' | null;
  readonly resetAt?: number;
  /** Who asks: recorded beside the change it asks for. */
  readonly by?: Requester;
}

/**
 * Change one app's control entry (read, modify, write atomically). The state dir is made
 * private (or refused, UnsafePathError) first; a broken control file is kept aside and replaced.
 */
export function updateControl(path: string, app: string, change: ControlUpdate): void {
  ensurePrivateDir(dirname(path));
  const read = loadControl(path);
  if (read.problem !== undefined) keepAside(path, read);
  const cur: { -readonly [K in keyof Entry]: Entry[K] } = { ...(read.apps.get(app) ?? {}) };
  const by = change.by ? toRecord(change.by) : undefined;
  if (change.pausedUntil === null) {
    delete cur.paused_until;
    delete cur.paused_by;
    if (by) cur.resumed_by = by;
  } else if (change.pausedUntil !== undefined) {
    cur.paused_until = change.pausedUntil === 'indefinite' ? 'indefinite' : new Date(change.pausedUntil).toISOString();
    if (by) cur.paused_by = by;
    else delete cur.paused_by;
    delete cur.resumed_by;
  }
  if (change.resetAt !== undefined) {
    cur.reset_at = new Date(change.resetAt).toISOString();
    if (by) cur.reset_by = by;
    else delete cur.reset_by;
  }
  read.apps.set(app, withoutUndefined(cur));
  writeJsonAtomic(path, toDocument(read.apps));
}

/** What the running process knows of itself, for requesterOf. */
export interface ProcessIdentity {
  /** os.userInfo().username; undefined when the uid has no passwd entry (a container). */
  readonly username: string | undefined;
  readonly uid: number | undefined;
  readonly pid: number;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Who asks, from the process's identity: its account (else $USER or $LOGNAME, else `uid N`),
 * and under sudo the account that ran sudo ($SUDO_USER), which is the person behind a `root`.
 */
export function requesterOf(id: ProcessIdentity, via = 'cli'): Requester {
  const user = id.username || id.env['USER'] || id.env['LOGNAME'] || (id.uid === undefined ? 'unknown' : `uid ${id.uid}`);
  const sudo = id.env['SUDO_USER'];
  return {
    user, pid: id.pid, via,
    ...(id.uid === undefined ? {} : { uid: id.uid }),
    ...(sudo && sudo !== user ? { sudoUser: sudo } : {}),
  };
}

function toRecord(r: Requester): RequesterRecord {
  return {
    user: r.user,
    ...(r.uid === undefined ? {} : { uid: r.uid }),
    ...(r.pid === undefined ? {} : { pid: r.pid }),
    ...(r.via === undefined ? {} : { via: r.via }),
    ...(r.sudoUser === undefined ? {} : { sudo_user: r.sudoUser }),
  };
}

function fromRecord(r: RequesterRecord): Requester {
  return {
    user: r.user,
    ...(r.uid === undefined ? {} : { uid: r.uid }),
    ...(r.pid === undefined ? {} : { pid: r.pid }),
    ...(r.via === undefined ? {} : { via: r.via }),
    ...(r.sudo_user === undefined ? {} : { sudoUser: r.sudo_user }),
  };
}

/** The entry without keys whose value is undefined (a dropped malformed who). */
function withoutUndefined(e: Entry): Entry {
  return Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as Entry;
}

function loadControl(path: string): ControlRead {
  const read = readOwnFile(path, 16 * 1024 * 1024);
  if (read.kind === 'missing') return { apps: new Map() };
  if (read.kind === 'unsafe') return { apps: new Map(), problem: `cannot be read (${read.why})` };
  const bytes = read.bytes;
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { apps: new Map(), problem: `is not JSON (${oneLine((err as Error).message)})`, bytes };
  }
  const doc = documentSchema.safeParse(raw);
  if (!doc.success) return { apps: new Map(), problem: `is not a control document (${issueText(doc.error)})`, bytes };
  const apps = new Map<string, Entry>();
  const bad: string[] = [];
  for (const [app, e] of Object.entries(doc.data.apps)) {
    const r = entrySchema.safeParse(e);
    if (r.success) apps.set(app, r.data);
    else bad.push(`${oneLine(JSON.stringify(app))}: ${issueText(r.error)}`);
  }
  if (bad.length === 0) return { apps, bytes };
  return { apps, problem: `has invalid entries (${bad.slice(0, 5).join('; ')}${bad.length > 5 ? `; and ${bad.length - 5} more` : ''})`, bytes };
}

/** ` (kept as <path>)`, or '' when it could not be kept. */
function keepAside(path: string, read: ControlRead): string {
  try {
    return ` (kept as ${setAside(path, read.bytes, 'corrupt')})`;
  } catch {
    return '';
  }
}

/** The document for a set of entries; `apps` has no prototype, so any app name is a plain key. */
function toDocument(entries: ReadonlyMap<string, Entry>): ControlDocument {
  const apps = Object.create(null) as Record<string, Entry>;
  for (const [app, e] of entries) apps[app] = e;
  return { version: 1, apps };
}
