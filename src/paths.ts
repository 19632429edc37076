/** Where things live: PM2_HOME (default ~/.pm2) and our state dir under it. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** PM2's home, as PM2 itself resolves it. */
export function pm2Home(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env['PM2_HOME'] ?? join(env['HOME'] ?? homedir(), '.pm2'));
}

/** The monitor's state dir: the config's `state_dir`, else `$PM2_HOME/helpdesk-monitor`. */
export function stateDir(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return configured ? resolve(configured) : join(pm2Home(env), 'helpdesk-monitor');
}
