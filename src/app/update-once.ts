/**
 * One update from the CLI (`update APP`, `rollback APP`): the config's log (to stderr and the
 * monitor's log file, so the story lands where the module's stories are), its notify targets,
 * PM2 when its daemon answers (never spawned), and the same update code the module runs. The
 * repo's lock makes it wait for nobody: a running update answers "in progress".
 */
import { systemClock } from '../clock.js';
import type { AppConfig, MonitorConfig } from '../config/schema.js';
import { stateDir } from '../paths.js';
import { createHttpProber } from '../probes/http.js';
import { rollbackLast, runUpdate, type UpdateReport, type UpdateRequest } from '../update/run-update.js';
import { endLog, openLog } from './log.js';
import { openNotifier } from './notifier.js';
import { reachPm2 } from './pm2.js';
import { cliUpdateDeps } from './updates.js';
import { within } from './within.js';

export interface OnceOptions {
  readonly pm2Home: string;
  readonly logLevel?: MonitorConfig['log']['level'];
}

const CLOSE_MS = 5000;

/** Run `request` (or the rollback) for `app`; throws Pm2Error when no PM2 daemon answers. */
export async function updateOnce(config: MonitorConfig, app: AppConfig, request: UpdateRequest | 'rollback', options: OnceOptions): Promise<UpdateReport> {
  const logger = openLog(config, { console: 'stderr', ...(options.logLevel ? { logLevel: options.logLevel } : {}) });
  const prober = createHttpProber(() => systemClock.now());
  let pm2;
  let notifier;
  try {
    pm2 = await reachPm2(options.pm2Home, 'ping', logger);
    notifier = await openNotifier(config.notify, logger, systemClock);
    const deps = cliUpdateDeps(stateDir(config.stateDir), logger, notifier, { pm2, prober, clock: systemClock });
    return request === 'rollback' ? await rollbackLast(app, deps) : await runUpdate(app, request, deps);
  } finally {
    await within(CLOSE_MS, notifier?.close(CLOSE_MS));
    prober.close();
    await within(CLOSE_MS, pm2?.close());
    await endLog(logger, CLOSE_MS);
  }
}
