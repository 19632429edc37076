/**
 * A uid's user name, for records that name a process's owner (a killed or refused port holder).
 * Read from /etc/passwd, at most once a minute: an incident is rare and a name is a courtesy, so
 * a missing file, an NSS-only user (LDAP) or a container without an entry simply give no name.
 */
import { readFileSync } from 'node:fs';

const REREAD_MS = 60_000;
let names: ReadonlyMap<number, string> = new Map();
let readAt = -Infinity;

/** `root` for 0; undefined when /etc/passwd has no entry for the uid. */
export function userName(uid: number): string | undefined {
  const now = performance.now();
  if (now - readAt > REREAD_MS) {
    readAt = now;
    names = parsePasswd(readOr('/etc/passwd'));
  }
  return names.get(uid);
}

/** name:password:uid:gid:... one line each; the first entry of a uid wins. */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    const n = Number(uid);
    if (name && uid !== undefined && uid !== '' && Number.isInteger(n) && !out.has(n)) out.set(n, name);
  }
  return out;
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * What a process of this uid may signal, in words: root signals anyone (within the kill rules);
 * any other user only its own processes, so another user's process on an app's port can be
 * reported but never killed, whatever kill_scope says. Undefined for root.
 */
export function killLimit(uid: number): string | undefined {
  if (uid === 0) return undefined;
  const who = userName(uid) ?? `uid ${uid}`;
  return `running as ${who} (uid ${uid}), not root: it can stop and kill only ${who}'s processes; another user's process holding an app's port is reported, never killed (kill_scope any or user cannot reach it)`;
}

/** A user's passwd entry: name, primary group and home (undefined when /etc/passwd has none). */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

export function passwdEntry(uid: number, text: string = readOr('/etc/passwd')): PasswdEntry | undefined {
  for (const line of text.split('\n')) {
    const [name, , u, g, , home] = line.split(':');
    if (name && Number(u) === uid && u !== '' && g !== undefined && Number.isInteger(Number(g)) && home) return { name, uid, gid: Number(g), home };
  }
  return undefined;
}
