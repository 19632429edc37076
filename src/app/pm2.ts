/**
 * Reaching the PM2 daemon, as each door needs it: the long-running monitor waits for a daemon
 * (the module starts with PM2; `run` may start before it) and never spawns one; `check` asks once
 * and fails when none answers; `watch` spawns one like `pm2 start` does.
 */
import { sleep } from '../clock.js';
import { Pm2Error } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { connectPm2, pingDaemon, type Pm2Port } from '../pm2/adapter.js';
import { loadPm2 } from '../pm2/load.js';

export type Pm2Plan = 'wait' | 'ping' | 'spawn';

/**
 * Connect to the daemon of `home` the way `plan` says. Throws Pm2Error ('ping': none answers).
 * `supervise` ('wait' only: `run`) is asked while no daemon answers, and may bring one back
 * (the daemon watchdog); it says whether one answers now.
 */
export async function reachPm2(home: string, plan: Pm2Plan, logger: Logger, supervise?: () => Promise<boolean>): Promise<Pm2Port> {
  const api = loadPm2();
  if (plan === 'spawn') return connectPm2({ pm2Home: home, api, callTimeoutMs: 15_000 });
  if (plan === 'ping') {
    if (!(await pingDaemon(home))) throw new Pm2Error('ping', `no PM2 daemon answers in ${home} (start it with \`pm2 resurrect\`)`);
    return connectPm2({ pm2Home: home, api });
  }
  // Wait with backoff, telling it once: a monitor started before PM2 is normal at boot.
  let delay = 500;
  let told = false;
  while (!(await pingDaemon(home))) {
    if (supervise && (await supervise())) break;
    if (!told) logger.warn(`no PM2 daemon answers in ${home}; waiting for it (start one with \`pm2 resurrect\` or \`pm2 start\`)`);
    told = true;
    await sleep(delay);
    delay = Math.min(delay * 2, 10_000);
  }
  return connectPm2({ pm2Home: home, api });
}
