/**
 * N apps made from one real app's material (obs-material.ts) for the observability benchmark: a
 * real config (loadConfig of a YAML with N apps, one port each, and an http: block), N worker
 * views cloned from the real view under new names (every 10th app unhealthy with its circuit
 * open, on the real failing observation), and the real observations and incidents replayed per
 * app into whatever records them (MonitorMetrics, or MonitorWeb's hooks). A loopback listener per
 * app port, held by this process, gives the /proc holders scan as many sockets to find as a real
 * host has. Nothing here talks to PM2.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import YAML from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { MonitorConfig } from '../../src/config/schema.js';
import type { Observation } from '../../src/engine/decide.js';
import type { Incident } from '../../src/engine/incident.js';
import type { WorkerView } from '../../src/engine/view.js';
import type { Material } from './obs-material.js';

export interface Recorder {
  observe(app: string, obs: Observation): void;
  incident(i: Incident): void;
}

export interface Synthetic {
  readonly apps: number;
  readonly config: MonitorConfig;
  readonly views: readonly WorkerView[];
  readonly ports: readonly number[];
  readonly unhealthy: number;
  /** Replay the material into a recorder: every observation and incident, per app. */
  feed(r: Recorder): void;
}

export const synthName = (i: number): string => `obs-${String(i).padStart(3, '0')}`;

/** One app in ten is unhealthy with its circuit open (and a failed remedy besides its two healed ones). */
const isUnhealthy = (i: number): boolean => i % 10 === 9;

export function synthesize(m: Material, ports: readonly number[], httpPort: number, dir: string): Synthetic {
  const n = ports.length;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `monitor-${n}.yaml`);
  writeFileSync(file, YAML.stringify({
    state_dir: join(dir, `state-${n}`),
    http: { port: httpPort },
    apps: ports.map((port, i) => ({
      name: synthName(i),
      health: { url: `http://127.0.0.1:${port}/health`, interval: '1s', timeout: '500ms', failure_threshold: 2 },
      startup_grace: '2s', ports: [port],
    })),
  }));
  const config = loadConfig(file);
  const base = m.view;
  const hang = m.incidents[0]!;
  const views = ports.map((_, i): WorkerView => {
    const app = synthName(i);
    if (!isUnhealthy(i)) return { ...base, app };
    return {
      ...base, app, lastObservation: m.failing,
      state: {
        ...base.state, phase: 'unhealthy', circuit: 'open', circuitSince: performance.now() - 60_000,
        consecutiveFailures: 7, consecutiveSuccesses: 0, failedRemedies: 3, lastReason: hang.reason,
      },
    };
  });
  const failed = ((): Incident => {
    const { timeToHealthyMs: _gone, ...report } = hang.report;
    return { ...hang, report: { ...report, ok: false, failure: 'verify: not healthy within 15s' }, circuitAfter: 'open' };
  })();
  return {
    apps: n, config, views, ports, unhealthy: views.filter((v) => v.state.phase === 'unhealthy').length,
    feed(r) {
      for (let i = 0; i < n; i++) {
        const app = synthName(i);
        for (const obs of m.observations) r.observe(app, obs);
        for (const inc of [...m.incidents, ...(isUnhealthy(i) ? [failed] : [])]) r.incident({ ...inc, app, report: { ...inc.report, app } });
      }
    },
  };
}

/** Hold a loopback listener on each port (closed by the returned function). */
export async function holdPorts(ports: readonly number[]): Promise<() => Promise<void>> {
  const servers = await Promise.all(ports.map((port) => new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer((c) => c.destroy());
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(s));
  })));
  return async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  };
}
