/**
 * Where the `helpdesk-monitor` command of a running package is, for the PM2 module's first log
 * line: `pm2 install` puts the package under $PM2_HOME/modules/, off every PATH, and an operator
 * reading `pm2 logs` should not have to hunt for the command that `pause`, `status` and `reset`
 * need. Pure: the package's directory in, the path and the sentence out.
 */
import { basename, dirname, join } from 'node:path';

export interface CommandPlace {
  /** The command's path. */
  readonly command: string;
  /** npm's bin link of an installed package (`pm2 install`, `npm install`), else the script in the package. */
  readonly installed: boolean;
}

/**
 * The command of the package at `packageRoot`. Installed (…/node_modules/<name>/), npm linked
 * the bin into the sibling node_modules/.bin/; the PM2 module lives at
 * $PM2_HOME/modules/<name>/node_modules/<name>/. Anywhere else (a checkout run as a plain PM2
 * app), the built script itself.
 */
export function commandPlace(packageRoot: string, name: string): CommandPlace {
  const parent = dirname(packageRoot);
  if (basename(packageRoot) === name && basename(parent) === 'node_modules') return { command: join(parent, '.bin', name), installed: true };
  return { command: join(packageRoot, 'dist', 'src', 'cli', 'index.js'), installed: false };
}

/**
 * The module's first line: `<name> <version> started; its command is <path> (put it on PATH:
 * sudo ln -sf <path> /usr/local/bin/<name>)`. A script that is not executable (a checkout's
 * build output; npm sets the bit on what it installs) needs a chmod first.
 */
export function startLine(name: string, version: string, place: CommandPlace, executable: boolean): string {
  const cmd = shellWord(place.command);
  const chmod = executable ? '' : `sudo chmod +x ${cmd} && `;
  return `${name} ${version} started; its command is ${place.command} (put it on PATH: ${chmod}sudo ln -sf ${cmd} /usr/local/bin/${name})`;
}

/** A word a POSIX shell reads back as itself (quoted only when needed). */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
