/**
 * @pm2/io for the PM2 module, loaded by the module door only (never by the CLI, `run` or
 * `check`): the monitor's figures as metrics in `pm2 show helpdesk-monitor`, and its actions
 * (app/actions.ts) for `pm2 trigger helpdesk-monitor <action>`. Initialised with the minimum:
 * PM2's IPC channel only (no network), no tracing, no profiling, none of the runtime metrics,
 * no exception catching (an error ends the module as it would end `run`, and PM2 restarts it).
 *
 * package.json sets `apps.pmx: false`, so PM2 does not preload its own copy with its defaults
 * (catching exceptions, profiler and heap-dump actions): we make the one instance ourselves,
 * from @pm2/io's class rather than its entry point, which would first init it with those
 * defaults. Where PM2 did preload one (an older install), that instance is re-initialised.
 */
import { createRequire } from 'node:module';
import { monitorActions, type ActionTarget } from './actions.js';
import { thisProcess } from './control.js';
import type { RunningMonitor } from './lifetime.js';

/** The part of @pm2/io used here (PM2's preloaded copy has the same shape). */
interface IoApi {
  init(config: Record<string, unknown>): unknown;
  metric(options: { name: string; unit?: string; value: () => number | string | undefined }): unknown;
  action(name: string, handler: (params: unknown, reply: (data: unknown) => void) => void): void;
  destroy(): void;
}

/** Where @pm2/io (and PM2's preloaded copy) keeps its one instance. */
const IO_KEY = Symbol.for('@pm2/io');

const IO_CONFIG = {
  catchExceptions: false,
  profiling: false,
  // PM2's own copy reads `tracing`, and turns `false` alone into its default (enabled).
  tracing: { enabled: false, outbound: false },
  metrics: { v8: false, runtime: false, http: false, network: false, eventLoop: false },
  actions: { eventLoopDump: false },
  standalone: false,
};

/** What the module's metrics are called in `pm2 show`. */
export const METRIC_NAMES = ['Apps watched', 'Unhealthy apps', 'Open circuits', 'Remedies', 'Probe p95 (ms)'] as const;

/** Start the metrics and actions for a running monitor; returns its stop (the module never stops it: it ends with the process). */
export function startPm2Io(monitor: RunningMonitor): () => void {
  const io = loadIo();
  // Configuration.init() of @pm2/io writes into the object it is given: a fresh one each time.
  io.init(structuredClone(IO_CONFIG));
  stopAutoExitHook(io);
  let figures = monitor.figures();
  let readAt = 0;
  // @pm2/io reads every metric once a second, one after the other: one look at the workers for all.
  const fresh = (): ReturnType<RunningMonitor['figures']> => {
    const now = Date.now();
    if (now - readAt > 500) {
      figures = monitor.figures();
      readAt = now;
    }
    return figures;
  };
  // A value function that throws would throw in @pm2/io's timer, and end the module.
  const metric = (name: (typeof METRIC_NAMES)[number], value: () => number | string | undefined): void => {
    io.metric({
      name,
      value: () => {
        try {
          return value();
        } catch {
          return undefined;
        }
      },
    });
  };
  metric('Apps watched', () => fresh().apps);
  metric('Unhealthy apps', () => fresh().unhealthy);
  metric('Open circuits', () => fresh().openCircuits);
  metric('Remedies', () => fresh().remedies);
  metric('Probe p95 (ms)', () => fresh().probeP95Ms ?? 'n/a');

  const target: ActionTarget = {
    appNames: () => monitor.engine.appNames(),
    checkFresh: (app) => monitor.engine.checkFresh(app),
    views: () => monitor.engine.views(),
    statusDocument: () => monitor.statusDocument(),
    requestControl: (app, request, by) => monitor.requestControl(app, request, by),
    reload: () => monitor.reload(),
  };
  // @pm2/io passes the parameters only to a handler declared with two arguments.
  for (const action of monitorActions(target, { by: () => thisProcess('pm2 trigger') })) {
    io.action(action.name, (params: unknown, reply: (data: unknown) => void) => action.handle(params, reply));
  }
  return () => io.destroy();
}

function loadIo(): IoApi {
  const global = globalThis as unknown as Record<symbol, IoApi | undefined>;
  const preloaded = global[IO_KEY];
  if (preloaded) return preloaded;
  const require = createRequire(import.meta.url);
  const { default: Pmx } = require('@pm2/io/build/main/pmx.js') as { default: new () => IoApi };
  const io = new Pmx();
  global[IO_KEY] = io;
  return io;
}

/**
 * @pm2/io's IPC transport stops listening to PM2 for 200 ms every 3 s when the process holds
 * exactly three handles (so an idle app may exit): an action sent then is lost, and `pm2
 * trigger` waits for ever. The module never means to exit by itself.
 */
function stopAutoExitHook(io: IoApi): void {
  const transport = (io as unknown as { transport?: { autoExitHandle?: NodeJS.Timeout } }).transport;
  if (transport?.autoExitHandle) clearInterval(transport.autoExitHandle);
}
