// checkFresh (`pm2 trigger helpdesk-monitor check-now`): it resolves only once a check that began
// after the call has ended, never on the end of a check that was already looking at the app. The
// engine runs for real here, with PM2 and the HTTP probe answered by hand (the probe held open
// until the test lets it go).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import winston from 'winston';
import YAML from 'yaml';
import { systemClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config/load.js';
import { Engine } from '../../../src/engine/engine.js';
import type { Pm2Port, ProcessInfo } from '../../../src/pm2/adapter.js';
import type { HttpProber } from '../../../src/probes/http.js';
import type { HttpOutcome } from '../../../src/probes/types.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-fresh-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const row: ProcessInfo = {
  pmId: 0, name: 'api', pid: process.pid, status: 'online', restarts: 0, unstableRestarts: 0, startedAt: Date.now() - 60_000,
  memory: 0, cpu: 0, execMode: 'fork', isModule: false,
};

const pm2 = {
  list: () => Promise.resolve([{ ...row }]),
  describe: () => Promise.resolve({ ...row }),
  daemonPid: () => undefined,
  onProcessEvent: () => () => undefined,
  onBusSignal: () => () => undefined,
  close: () => Promise.resolve(),
} as unknown as Pm2Port;

/** A prober whose probes wait until the test answers them, one by one. */
class HeldProber {
  readonly waiting: ((o: HttpOutcome) => void)[] = [];
  probes = 0;
  probe(): Promise<HttpOutcome> {
    this.probes++;
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  /** Answer the oldest probe (after waiting for it to be asked). */
  async answer(): Promise<void> {
    for (let i = 0; i < 200 && this.waiting.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const next = this.waiting.shift();
    assert.ok(next, 'a probe was asked');
    next({ ok: true, status: 200, latencyMs: 3 });
  }
  close(): void {}
}

function engineWith(prober: HeldProber): Engine {
  const file = join(dir, `monitor-${Math.random().toString(36).slice(2)}.yaml`);
  // A long interval: every check after the first one comes from checkFresh.
  writeFileSync(file, YAML.stringify({ state_dir: dir, apps: [{ name: 'api', health: { url: 'http://127.0.0.1:9/health', interval: '1h' }, startup_grace: 0 }] }));
  const logger = winston.createLogger({ silent: true });
  return new Engine(loadConfig(file), { pm2, prober: prober as unknown as HttpProber, clock: systemClock, logger });
}

const state = (p: Promise<unknown>): Promise<'settled' | 'pending'> =>
  Promise.race([p.then(() => 'settled' as const), new Promise<'pending'>((r) => setTimeout(() => r('pending'), 30))]);

describe('Engine.checkFresh', () => {
  test('waits for a check begun after the call, not for the one in progress', async () => {
    const prober = new HeldProber();
    const engine = engineWith(prober);
    engine.start();
    try {
      // The first (scheduled) check is now waiting on its probe.
      for (let i = 0; i < 200 && prober.probes === 0; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(prober.probes, 1);
      const fresh = engine.checkFresh('api')!;
      await prober.answer(); // the check in progress ends
      assert.equal(await state(fresh), 'pending', 'the check that was running when asked does not count');
      await prober.answer(); // the queued check probes and ends
      assert.equal(await state(fresh), 'settled');
      assert.equal(prober.probes, 2, 'exactly one more check');
      assert.equal(engine.views()[0]!.state.phase, 'healthy');
    } finally {
      await engine.stop();
    }
  });

  test('two calls during one check share the next check', async () => {
    const prober = new HeldProber();
    const engine = engineWith(prober);
    engine.start();
    try {
      await prober.answer();
      for (let i = 0; i < 200 && engine.views()[0]!.lastObservation === undefined; i++) await new Promise((r) => setTimeout(r, 5));
      const a = engine.checkFresh('api')!;
      const b = engine.checkFresh('api')!;
      await prober.answer();
      assert.deepEqual(await Promise.all([state(a), state(b)]), ['settled', 'settled']);
      assert.equal(prober.probes, 2);
    } finally {
      await engine.stop();
    }
  });

  test('an unknown app is undefined; a stop lets waiting callers go; a stopped engine answers at once', async () => {
    const prober = new HeldProber();
    const engine = engineWith(prober);
    assert.equal(engine.checkFresh('nosuchapp'), undefined);
    engine.start();
    for (let i = 0; i < 200 && prober.probes === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const fresh = engine.checkFresh('api')!;
    const stopping = engine.stop();
    await prober.answer(); // stop() waits for the check in progress
    await stopping;
    assert.equal(await state(fresh), 'settled', 'stop resolved the waiting caller');
    assert.equal(await state(engine.checkFresh('api')!), 'settled');
    assert.equal(prober.probes, 1, 'no check after the stop');
  });
});
