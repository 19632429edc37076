/** Where things live: PM2_HOME (default ~/.pm2), our state dir under it, and our own package. */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** PM2's home, as PM2 itself resolves it. */
export function pm2Home(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env['PM2_HOME'] ?? join(env['HOME'] ?? homedir(), '.pm2'));
}

/**
 * The monitor's state dir: the config's `state_dir` (HELPDESK_MONITOR_STATE_DIR already applied by
 * the loader), else that variable (commands run without a config), else `$PM2_HOME/helpdesk-monitor`.
 */
export function stateDir(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['HELPDESK_MONITOR_STATE_DIR'];
  if (configured) return resolve(configured);
  return fromEnv && isAbsolute(fromEnv) ? fromEnv : join(pm2Home(env), 'helpdesk-monitor');
}

/** The installed package's root (this file is dist/src/paths.js). */
export const packageRoot = (): string => resolve(import.meta.dirname, '..', '..');

/** The package's version from its package.json, or undefined when it cannot be read. */
export function packageVersion(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A PATH with node's own directory first, then `rest` (default the system's bin dirs), no
 * repeats: systemd's and cron's default PATH has no nvm or /opt node, and a daemon spawned from
 * it would start apps with another node, or none (Unitech/pm2#3304).
 */
export function pathWithNode(nodeExec: string, rest: readonly string[] = ['/usr/local/bin', '/usr/bin', '/bin']): string {
  const own = nodeExec.slice(0, Math.max(1, nodeExec.lastIndexOf('/')));
  return [own, ...rest].filter((d, i, all) => d !== '' && all.indexOf(d) === i).join(':');
}
