// A slow but healthy app must be left alone: /health answers after 300 ms, the timeout is 500 ms,
// and with a failure threshold of 1 a single misjudged probe would restart it. Over 30+ checks at
// a 200 ms interval: no remedy, no PM2 restart, always healthy, and every probe really took the
// 300 ms (so the test would notice a probe that ignored the delay or a timeout set too short).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createSandbox, exampleApp, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startTestMonitor } from '../helpers/monitor.js';
import type { Observation } from '../../src/engine/decide.js';

const PORT = 47240;
const URL_ = `http://127.0.0.1:${PORT}/health`;
const CHECKS = 30;
let sb: Sandbox;

before(async () => {
  sb = await createSandbox('slow-health');
});
after(async () => {
  await sb.teardown();
});

test('a /health that takes 300 ms under a 500 ms timeout is never remedied over 30 checks', async (t) => {
  await sb.start(exampleApp('slow', PORT, { HEALTH_DELAY_MS: '300' }));
  const first = await waitFor('slow healthy', async () => ((await httpStatus(URL_, 2000)) === 200 ? sb.info('slow') : undefined));
  const monitor = startTestMonitor(sb, {
    apps: [{ name: 'slow', health: { url: URL_, interval: '200ms', timeout: '500ms', failure_threshold: 1 }, startup_grace: 0, ports: [PORT] }],
  });
  t.after(() => monitor.stop());

  // Every distinct observation the worker made (a check's observation is replaced by the next one).
  const observations: Observation[] = [];
  const phases = new Set<string>();
  const t0 = Date.now();
  await waitFor(
    `${CHECKS} checks`,
    () => {
      const v = monitor.engine.views()[0];
      if (v) phases.add(v.state.phase);
      const o = v?.lastObservation;
      if (o && o !== observations.at(-1)) observations.push(o);
      return observations.length >= CHECKS;
    },
    60_000,
    20,
  );
  const elapsed = Date.now() - t0;
  t.diagnostic(`${observations.length} checks in ${elapsed} ms; probe latency ${latencies(observations)}`);

  assert.deepEqual(monitor.remedies, [], 'no remedy');
  assert.deepEqual([...phases].filter((p) => p !== 'unknown'), ['healthy'], 'the phase never left healthy');
  assert.equal(monitor.engine.views()[0]?.state.phase, 'healthy');
  for (const o of observations) {
    assert.equal(o.pm2.state, 'online');
    assert.ok(o.http?.ok, `every probe succeeded: ${JSON.stringify(o.http)}`);
    assert.ok(o.http.latencyMs >= 280, `the probe waited for the slow answer (${Math.round(o.http.latencyMs)} ms)`);
  }
  const now = await sb.info('slow');
  assert.equal(now?.status, 'online');
  assert.equal(now?.restarts, first.restarts, 'PM2 restart count unchanged');
  assert.equal(now?.pid, first.pid, 'same process');
  assert.ok(!monitor.lines.some((l) => /^(warn|error) /.test(l)), `no warning or error logged:\n${monitor.lines.join('\n')}`);
});

function latencies(obs: readonly Observation[]): string {
  const ms = obs.map((o) => o.http?.latencyMs ?? NaN).filter(Number.isFinite);
  return `min ${Math.round(Math.min(...ms))} ms, max ${Math.round(Math.max(...ms))} ms`;
}
