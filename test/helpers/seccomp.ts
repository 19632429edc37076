/**
 * A unit's SystemCallFilter= as a list of allowed system calls, the way systemd builds it: the
 * groups of the allow lines (expanded by `systemd-analyze syscall-filter`, nested groups too),
 * minus the groups of the `~` lines, plus @default (always permitted). With
 * test/fixtures/seccomp-exec.py a test runs a command under that filter (EPERM for the rest, as
 * SystemCallErrorNumber=EPERM), without a running systemd.
 */
import { spawnSync } from 'node:child_process';

const groups = new Map<string, Set<string>>();

/** The system calls of a group (or one call's name), nested groups expanded. */
export function expandSyscalls(group: string): Set<string> {
  if (!group.startsWith('@')) return new Set([group]);
  const known = groups.get(group);
  if (known) return known;
  const out = new Set<string>();
  groups.set(group, out);
  const r = spawnSync('systemd-analyze', ['syscall-filter', group], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`systemd-analyze syscall-filter ${group}: ${r.stderr}`);
  for (const line of r.stdout.split('\n').slice(1)) {
    const w = line.trim();
    if (!w || w.startsWith('#')) continue;
    for (const s of expandSyscalls(w)) out.add(s);
  }
  return out;
}

/** The allowed system calls for a unit's SystemCallFilter= values. */
export function allowedSyscalls(filterValues: readonly string[]): string[] {
  const allowed = new Set<string>();
  for (const v of filterValues.filter((x) => !x.startsWith('~'))) for (const g of v.split(/\s+/).filter(Boolean)) for (const s of expandSyscalls(g)) allowed.add(s);
  for (const v of filterValues.filter((x) => x.startsWith('~'))) for (const g of v.slice(1).split(/\s+/).filter(Boolean)) for (const s of expandSyscalls(g)) allowed.delete(s);
  for (const s of expandSyscalls('@default')) allowed.add(s);
  return [...allowed].sort();
}
