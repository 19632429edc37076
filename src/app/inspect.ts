/**
 * One look at apps that decides without acting, through the engine itself: what `status`,
 * `status --json` and `check --dry-run` print, so they and `check` can never disagree. Every
 * probe and rule the app has runs once, its strategy says whether it runs, and the policy judges
 * the observation against what the last monitor left in state.json (read, never written).
 * Apps PM2 runs that the config does not list are judged with the defaults (PM2 status only).
 */
import { DEFAULT_SUPERVISOR } from '../config/supervisor.js';
import { systemClock, type Clock } from '../clock.js';
import { defaultAppConfig, type AppConfig, type MonitorConfig } from '../config/schema.js';
import { Engine } from '../engine/engine.js';
import { restoreApp } from '../engine/state-document.js';
import type { Inspection } from '../engine/worker.js';
import { createLogger } from '../log/logger.js';
import { stateDir } from '../paths.js';
import type { Pm2Port } from '../pm2/adapter.js';
import { createHttpProber } from '../probes/http.js';
import { readStateDocument, stateFilePath } from '../state/state-file.js';

export interface InspectRequest {
  /** The monitor's config, if there is one. */
  readonly config?: MonitorConfig;
  readonly pm2: Pm2Port;
  /** The apps to look at, by name: configured or not. */
  readonly names: readonly string[];
  readonly clock?: Clock;
}

/** The config's app of that name, or the defaults (PM2 status only, no ports) for one it does not list. */
export function appConfigFor(name: string, config: MonitorConfig | undefined): AppConfig {
  return config?.apps.find((a) => a.name === name) ?? defaultAppConfig(name);
}

/** Inspect the named apps once. Throws when PM2 does not answer (the caller says so). */
export async function inspectApps(request: InspectRequest): Promise<Inspection[]> {
  const { config, pm2, names } = request;
  const clock = request.clock ?? systemClock;
  const apps = names.map((n) => appConfigFor(n, config));
  const saved = readStateDocument(stateFilePath(stateDir(config?.stateDir)));
  const restored = new Map<string, ReturnType<typeof restoreApp>>();
  for (const app of apps) {
    const rec = saved?.apps[app.name];
    if (rec) restored.set(app.name, restoreApp(rec, clock.now()));
  }
  const monitorConfig: MonitorConfig = {
    source: config?.source ?? '(no config)',
    log: config?.log ?? { level: 'error', format: 'text', maxSizeBytes: 0, maxFiles: 1, gzip: false },
    concurrency: config?.concurrency ?? 8,
    reconcileMs: config?.reconcileMs ?? 30_000,
    notify: [],
    supervisor: config?.supervisor ?? DEFAULT_SUPERVISOR,
    apps,
    ...(config?.stateDir === undefined ? {} : { stateDir: config.stateDir }),
  };
  // The engine logs what it decides; an inspection decides nothing worth a log line.
  const logger = createLogger({ level: 'error', format: 'text', console: 'none' });
  const prober = createHttpProber(() => clock.now());
  try {
    const engine = new Engine(monitorConfig, { pm2, prober, clock, logger, restored });
    return await engine.inspect();
  } finally {
    prober.close();
    logger.close();
  }
}
