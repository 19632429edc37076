// A check that is still looking at the app when the monitor stops (SIGTERM, or a reload that
// replaces the worker) starts no remedy, even when its answer is a failure over the threshold:
// the next monitor checks again at once. The engine runs for real; PM2 and the probe are
// answered by hand, and PM2 records every action asked of it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import winston from 'winston';
import YAML from 'yaml';
import { systemClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config/load.js';
import { Engine } from '../../../src/engine/engine.js';
import type { Pm2Port, ProcessInfo } from '../../../src/pm2/adapter.js';
import type { HttpProber } from '../../../src/probes/http.js';
import type { HttpOutcome } from '../../../src/probes/types.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-stop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a failing answer that arrives after stop() starts no remedy, and stop() ends with the check', async () => {
  const row: ProcessInfo = {
    pmId: 0, name: 'api', pid: process.pid, status: 'online', restarts: 0, unstableRestarts: 0, startedAt: Date.now() - 60_000,
    memory: 0, cpu: 0, execMode: 'fork', isModule: false,
  };
  const acts: string[] = [];
  const pm2 = {
    list: () => Promise.resolve([{ ...row }]),
    describe: () => Promise.resolve({ ...row }),
    act: (a: string) => {
      acts.push(a);
      return Promise.resolve();
    },
    daemonPid: () => undefined,
    onProcessEvent: () => () => undefined,
    onBusSignal: () => () => undefined,
    close: () => Promise.resolve(),
  } as unknown as Pm2Port;
  let answer: ((o: HttpOutcome) => void) | undefined;
  const prober = { probe: () => new Promise<HttpOutcome>((r) => (answer = r)), close: () => undefined } as unknown as HttpProber;
  const file = join(dir, 'monitor.yaml');
  writeFileSync(file, YAML.stringify({ state_dir: dir, apps: [{ name: 'api', health: { url: 'http://127.0.0.1:9/health', interval: '1h', failure_threshold: 1 }, startup_grace: 0 }] }));
  const lines: string[] = [];
  const logger = winston.createLogger({ level: 'debug', transports: [new winston.transports.Console({ silent: true })] });
  logger.on('data', (info: { message: string }) => lines.push(info.message));
  const engine = new Engine(loadConfig(file), { pm2, prober, clock: systemClock, logger });
  engine.start();
  for (let i = 0; i < 200 && !answer; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(answer, 'the first check is probing');
  const t0 = performance.now();
  const stopped = engine.stop();
  answer({ ok: false, failure: 'http_status', status: 500, latencyMs: 3, detail: 'HTTP 500' } as unknown as HttpOutcome);
  await stopped;
  assert.ok(performance.now() - t0 < 2000, 'stop ended with the check, not after the shutdown grace');
  assert.deepEqual(acts, [], 'PM2 was asked nothing');
  assert.ok(lines.some((l) => /not remedied: the monitor is stopping/.test(l)), `the log says why:\n${lines.join('\n')}`);
});
