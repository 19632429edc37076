/** What several commands need: an optional config, a PM2 connection, app configs by name. */
import { loadConfig, locateConfig } from '../config/load.js';
import type { MonitorConfig } from '../config/schema.js';
import { ConfigError, Pm2Error } from '../errors.js';
import { connectPm2, pingDaemon, readDaemonPid, type Pm2Port } from '../pm2/adapter.js';
import { loadPm2 } from '../pm2/load.js';

/** The config if one is given or set anywhere; undefined when none is; ConfigError when invalid. */
export function optionalConfig(flag: string | undefined, home: string): MonitorConfig | undefined {
  let path: string;
  try {
    path = locateConfig(flag, process.env, home).path;
  } catch (err) {
    if (err instanceof ConfigError && err.file === '(none)') return undefined;
    throw err;
  }
  return loadConfig(path);
}

/**
 * Connect to PM2. `spawn` false (status, check, stop, ports): fail when no daemon answers instead
 * of starting one (which would also relaunch modules). `spawn` true (start): like `pm2 start`.
 */
export async function connect(home: string, spawn: boolean): Promise<Pm2Port> {
  const api = loadPm2();
  if (!spawn && !(await pingDaemon(home))) {
    throw new Pm2Error('ping', `no PM2 daemon answers in ${home} (is PM2 running? \`pm2 resurrect\` starts it with the saved apps)`);
  }
  return connectPm2({ pm2Home: home, api });
}

export { appConfigFor } from '../app/inspect.js';

/**
 * PM2 if its daemon answers, else a stand-in with an empty list that still knows the daemon pid
 * from the pid file (port freeing must work, and stay safe, while PM2 is down).
 */
export async function connectIfRunning(home: string): Promise<Pm2Port> {
  try {
    return await connect(home, false);
  } catch {
    const down = (): Promise<never> => Promise.reject(new Pm2Error('connect', `no PM2 daemon answers in ${home}`));
    return {
      list: () => Promise.resolve([]),
      describe: () => Promise.resolve(undefined),
      act: down,
      start: down,
      daemonPid: () => readDaemonPid(home),
      onProcessEvent: () => () => undefined,
      onBusSignal: () => () => undefined,
      close: () => Promise.resolve(),
    };
  }
}
