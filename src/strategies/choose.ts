/**
 * Which strategy runs an app, chosen once per app. `auto`: PM2 when PM2 knows the app, else the
 * systemd unit when it exists, else the process spec. An `auto` app first seen outside PM2 moves
 * to PM2 once PM2 lists it (a monitor started before `pm2 resurrect` brought the apps back).
 */
import type { AppConfig } from '../config/schema.js';
import type { ProcessInfo } from '../pm2/adapter.js';
import { instancesOf, pm2Strategy, type Pm2Deps } from './pm2.js';
import { processStrategy } from './process.js';
import { serviceExists, serviceStrategy } from './service.js';
import type { RestartStrategy } from './types.js';

export interface ChooseDeps extends Pm2Deps {
  /** Environment for strategy commands (systemctl, the app's command); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/** The strategy for an app, given PM2's table now. */
export async function chooseStrategy(app: AppConfig, table: readonly ProcessInfo[], deps: ChooseDeps): Promise<RestartStrategy> {
  const outside = { clock: deps.clock, ...(deps.env ? { env: deps.env } : {}), ...(deps.killLog ? { killLog: deps.killLog } : {}) };
  switch (app.strategy) {
    case 'pm2':
      return pm2Strategy(deps);
    case 'service':
      return serviceStrategy(outside);
    case 'process':
      return processStrategy(outside);
    case 'auto':
      if (instancesOf(app, table).length > 0) return pm2Strategy(deps);
      return (await serviceExists(app.serviceUnit, deps.env ?? process.env)) ? serviceStrategy(outside) : processStrategy(outside);
  }
}

/** Should an `auto` app's choice be made again (it was made outside PM2, and PM2 lists it now)? */
export function choiceOutdated(app: AppConfig, chosen: RestartStrategy, table: readonly ProcessInfo[]): boolean {
  return app.strategy === 'auto' && chosen.name !== 'pm2' && instancesOf(app, table).length > 0;
}
