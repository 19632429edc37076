/**
 * Realistic inputs for the observability benchmark: a real Engine, in this process, watches the
 * lab's example app under its isolated PM2 while the bench freezes it (a hang) and makes it crash
 * with a port squatter. Every observation and incident the engine hands its hooks is kept, with
 * its views at the end: the synthetic N-app views and the metrics are made from these (obs-synth.ts),
 * so the rows, histories and label sets are the ones a real monitor writes.
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/load.js';
import type { Observation } from '../../src/engine/decide.js';
import { Engine } from '../../src/engine/engine.js';
import type { Incident } from '../../src/engine/incident.js';
import type { WorkerView } from '../../src/engine/view.js';
import { createHttpProber } from '../../src/probes/http.js';
import { injectFault } from '../../test/helpers/sandbox.js';
import type { Lab, LabApp } from './lab.js';

export interface Material {
  /** Every observation of the app, in order. */
  readonly observations: readonly Observation[];
  /** The remedies: the hang's, then the squatter's. */
  readonly incidents: readonly Incident[];
  /** The app's view after both remedies (healthy again, a history of two). */
  readonly view: WorkerView;
  /** A failing observation (the hang's timeouts), for the apps the synthetic set shows unhealthy. */
  readonly failing: Observation;
  readonly ms: number;
}

/** Wait for `cond` (polled every 50 ms) or throw naming `what`. */
async function until<T>(what: string, cond: () => T | undefined, timeoutMs: number, tail: () => string): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`material: ${what} not within ${timeoutMs} ms; the engine's last lines:\n${tail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Run the engine on `app` (already healthy under the lab's PM2) through a hang and a crash + squatter. */
export async function captureMaterial(lab: Lab, app: LabApp, configFile: string, progress: (t: string) => void): Promise<Material> {
  const t0 = performance.now();
  const sb = lab.sb!;
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (lines.length > 200) lines.splice(0, lines.length - 200);
      cb();
    },
  });
  const logger = winston.createLogger({ level: 'info', format: winston.format.simple(), transports: [new winston.transports.Stream({ stream: sink })] });
  const observations: Observation[] = [];
  const incidents: Incident[] = [];
  const prober = createHttpProber();
  const engine = new Engine(loadConfig(configFile), {
    pm2: sb.pm2, prober, clock: systemClock, logger,
    onObservation: (name, obs) => void (name === app.name && observations.push(obs)),
    onIncident: (i) => void incidents.push(i),
  });
  const tail = (): string => lines.slice(-15).join('\n');
  const healthy = (): WorkerView | undefined => engine.views().find((v) => v.app === app.name && v.state.phase === 'healthy');
  engine.start();
  try {
    progress('material: the engine sees the app healthy');
    await until('healthy at start', healthy, 30_000, tail);
    await new Promise((r) => setTimeout(r, 3000)); // a few ordinary checks
    progress('material: hang (SIGSTOP)');
    const frozen = (await lab.info(app.name)).pid;
    lab.freeze(frozen);
    await until('the hang\'s remedy', () => incidents[0], 30_000, tail);
    lab.thaw(frozen); // killed by the remedy: forget it now, before its pid can be reused
    await until('healthy after the hang', healthy, 30_000, tail);
    await lab.settle(app, { minUptimeMs: 2500 });
    progress('material: crash + port squatter');
    await injectFault(app.port, 'squat');
    await until('the squatter\'s remedy', () => incidents[1], 30_000, tail);
    await until('healthy after the squatter', healthy, 30_000, tail);
    await new Promise((r) => setTimeout(r, 3000));
    const failing = observations.find((o) => o.http && !o.http.ok);
    if (!failing) throw new Error(`material: no failing observation among ${observations.length}`);
    if (!(incidents[1]!.report.ports?.killed.length ?? 0)) throw new Error(`material: the squatter's remedy killed nobody: ${incidents[1]!.report.failure ?? incidents[1]!.reason}`);
    return { observations, incidents, view: healthy()!, failing, ms: performance.now() - t0 };
  } finally {
    await engine.stop();
    prober.close();
  }
}
