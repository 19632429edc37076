/** Run the real engine in-process against a sandbox daemon, with its log lines captured. */
import { Writable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import YAML from 'yaml';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/load.js';
import type { MonitorConfig } from '../../src/config/schema.js';
import { Engine } from '../../src/engine/engine.js';
import type { RemedyReport } from '../../src/engine/remedy.js';
import type { Observation } from '../../src/engine/decide.js';
import type { Pm2Port } from '../../src/pm2/adapter.js';
import { createHttpProber } from '../../src/probes/http.js';
import type { Sandbox } from './sandbox.js';

export interface TestMonitor {
  readonly engine: Engine;
  readonly config: MonitorConfig;
  /** The engine's logger (lines land in `lines`): for parts run beside it, like the alarm poller. */
  readonly logger: winston.Logger;
  readonly lines: string[];
  readonly remedies: RemedyReport[];
  stop(): Promise<void>;
}

/** Write a YAML config to a temp file (inside the sandbox home, which teardown removes). */
export function writeConfig(doc: unknown, name = 'monitor.yaml'): string {
  const dir = mkdtempSync(join(process.env['PM2_HOME'] ?? tmpdir(), 'cfg-'));
  const file = join(dir, name);
  writeFileSync(file, name.endsWith('.json') ? JSON.stringify(doc) : YAML.stringify(doc));
  return file;
}

export interface TestMonitorOptions {
  /** The PM2 port the engine talks through (default: the sandbox's). */
  readonly pm2?: Pm2Port;
  readonly onObservation?: (app: string, obs: Observation) => void;
}

/** Start an engine for `configDoc` against the sandbox. */
export function startTestMonitor(sandbox: Sandbox, configDoc: unknown, options: TestMonitorOptions = {}): TestMonitor {
  const config = loadConfig(writeConfig(configDoc));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.printf((i) => `${i.level} ${i['app'] ? `[${String(i['app'])}] ` : ''}${String(i.message)} ${JSON.stringify({ ...i, level: undefined, message: undefined })}`),
    transports: [new winston.transports.Stream({ stream: sink })],
  });
  const prober = createHttpProber();
  const remedies: RemedyReport[] = [];
  const engine = new Engine(config, {
    pm2: options.pm2 ?? sandbox.pm2, prober, clock: systemClock, logger, onRemedy: (r) => remedies.push(r),
    ...(options.onObservation ? { onObservation: options.onObservation } : {}),
  });
  engine.start();
  return {
    engine, config, logger, lines, remedies,
    async stop() {
      await engine.stop();
      prober.close();
    },
  };
}
