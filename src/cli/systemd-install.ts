/**
 * What install-timer and install-service share: where unit files go (/etc/systemd/system,
 * ~/.config/systemd/user with --user units, or --unit-dir DIR, where no systemctl is called),
 * and systemctl itself, whose failure is a note (the files are written; the operator can run it).
 */
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface UnitDir {
  readonly dir: string;
  /** --unit-dir: the operator copies the files; no systemctl calls. */
  readonly custom: boolean;
}

export function unitDir(values: { 'unit-dir'?: string | undefined }, userUnits = false): UnitDir {
  if (values['unit-dir']) return { dir: resolve(values['unit-dir']), custom: true };
  return { dir: userUnits ? join(homedir(), '.config', 'systemd', 'user') : '/etc/systemd/system', custom: false };
}

/** Is there a systemctl to call? */
export function systemctlPresent(): boolean {
  const r = spawnSync('systemctl', ['--version'], { stdio: 'ignore', timeout: 10_000 });
  return !r.error && r.status === 0;
}

/** Run systemctl (output to stderr: stdout may be a --json document); false, with a note, when it fails. */
export function systemctl(userUnits: boolean, args: readonly string[]): boolean {
  const r = spawnSync('systemctl', [...(userUnits ? ['--user'] : []), ...args], { stdio: ['ignore', 2, 2], timeout: 60_000 });
  if (r.error || r.status !== 0) {
    process.stderr.write(`note: systemctl ${args.join(' ')} did not succeed; run it yourself\n`);
    return false;
  }
  return true;
}
