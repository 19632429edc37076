/**
 * The throwaway system user of the chaos run (root only): created once with `useradd --system`
 * (no home, no login shell, its own group), removed with `userdel` when the run ends. Its
 * processes are "another user's" for the monitor's safety scope.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  remove(): void;
}

/** Create the user, or say why not (not root, no useradd). */
export function createSystemUser(): SystemUser | string {
  if (process.getuid?.() !== 0) return 'needs root';
  const name = `hdm-chaos-${randomBytes(3).toString('hex')}`;
  const add = spawnSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--user-group', name], { encoding: 'utf8' });
  if (add.error || add.status !== 0) return `useradd failed: ${add.error?.message ?? add.stderr.trim()}`;
  const id = (flag: string): number => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  let removed = false;
  return {
    name, uid: id('-u'), gid: id('-g'),
    remove() {
      if (removed) return;
      removed = true;
      spawnSync('userdel', [name], { stdio: 'ignore' });
    },
  };
}
