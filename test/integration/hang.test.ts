// A SIGSTOPped app stays "online" in PM2 forever; the monitor notices through /health timeouts
// and brings it back within threshold x interval + timeout + cold start.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createSandbox, exampleApp, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startTestMonitor } from '../helpers/monitor.js';

const PORT = 47110;
const URL_ = `http://127.0.0.1:${PORT}/health`;
let sb: Sandbox;

before(async () => {
  sb = await createSandbox('hang');
});
after(async () => {
  await sb.teardown();
});

test('PM2 alone keeps a SIGSTOPped app online and hung', async () => {
  await sb.start(exampleApp('alone', PORT + 1));
  const info = await waitFor('alone online', async () => ((await httpStatus(`http://127.0.0.1:${PORT + 1}/health`)) === 200 ? sb.info('alone') : undefined));
  process.kill(info.pid, 'SIGSTOP');
  await new Promise((r) => setTimeout(r, 4000));
  const later = await sb.info('alone');
  assert.equal(later?.status, 'online', 'PM2 still reports online');
  assert.equal(later?.pid, info.pid, 'PM2 did not restart it');
  assert.equal(await httpStatus(`http://127.0.0.1:${PORT + 1}/health`), 0, '/health does not answer');
  process.kill(info.pid, 'SIGCONT');
});

test('the monitor restarts a SIGSTOPped app and /health answers again', async () => {
  await sb.start(exampleApp('hung', PORT));
  const info = await waitFor('hung online', async () => ((await httpStatus(URL_)) === 200 ? sb.info('hung') : undefined));
  const monitor = startTestMonitor(sb, {
    apps: [{ name: 'hung', health: { url: URL_, interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: 0, ports: [PORT] }],
  });
  try {
    await waitFor('monitor sees healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy');
    process.kill(info.pid, 'SIGSTOP');
    const t0 = Date.now();
    await waitFor('a new, healthy instance', async () => {
      const now = await sb.info('hung');
      return now && now.pid !== info.pid && (await httpStatus(URL_)) === 200;
    }, 15_000);
    const elapsed = Date.now() - t0;
    // 2 x 1 s + 0.5 s + cold start (~0.2 s) + slack for a loaded CI machine
    assert.ok(elapsed < 5000, `healthy again after ${elapsed} ms`);
    const report = await waitFor('the remedy report', () => monitor.remedies[0]);
    assert.ok(report.ok, `the remedy succeeded: ${report.failure ?? ''}`);
    assert.match(report.reason, /timeout/);
    assert.ok(monitor.lines.some((l) => /remedy succeeded/.test(l)), 'the log tells the story');
  } finally {
    await monitor.stop();
  }
});
