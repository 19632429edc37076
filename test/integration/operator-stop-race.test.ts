// An operator's `pm2 stop` that lands while a check is probing: the check read PM2's table
// (online) before it probed, so the refused probe looks like an online app that stopped answering.
// The worker asks PM2 again right before a remedy and leaves a stopped app alone. The race is made
// deterministic here: the /health the monitor probes is a server in this test, which runs the
// operator's `pm2 stop` (from another process) while it holds the probe, then fails the probe.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { PM2_BIN, createSandbox, exampleApp, healthUrl, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startTestMonitor } from '../helpers/monitor.js';

const execFileAsync = promisify(execFile);
const PORT = 48460;
let sb: Sandbox;

before(async () => {
  sb = await createSandbox('stop-race');
});
after(async () => {
  await sb.teardown();
});

/** A /health that answers 200 until armed; armed, it stops the app through PM2, then fails. */
async function stoppingHealth(app: string): Promise<{ server: Server; url: string; arm: () => void; stops: () => number }> {
  let armed = false;
  let stops = 0;
  const server = createServer((req, res) => {
    if (!armed) return void res.end('ok');
    armed = false;
    stops++;
    execFileAsync(process.execPath, [PM2_BIN, 'stop', app], { env: sb.env, timeout: 30_000 })
      .catch(() => undefined)
      .finally(() => {
        res.statusCode = 503;
        res.end('stopped by the operator meanwhile');
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/health`, arm: () => { armed = true; }, stops: () => stops };
}

test('a `pm2 stop` landing between the PM2 read and the probe is not remedied: the app stays stopped', async (t) => {
  await sb.start(exampleApp('raced', PORT));
  await waitFor('raced healthy', async () => (await httpStatus(healthUrl(PORT), 2000)) === 200, 30_000);
  const health = await stoppingHealth('raced');
  t.after(() => new Promise<void>((r) => health.server.close(() => r())));
  const monitor = startTestMonitor(sb, {
    // threshold 1 and a probe timeout longer than a `pm2 stop`: the failed probe alone would remedy
    apps: [{ name: 'raced', ports: [PORT], startup_grace: 0, health: { url: health.url, interval: '1s', timeout: '20s', failure_threshold: 1 } }],
  });
  t.after(() => monitor.stop());
  await waitFor('monitor sees healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy', 20_000);
  health.arm();
  await waitFor('the probe that stops the app', () => health.stops() === 1, 20_000);
  await waitFor('the monitor sees the stop', () => monitor.engine.views()[0]?.state.phase === 'stopped', 30_000);
  await new Promise((r) => setTimeout(r, 3000)); // a few more checks: nothing may happen
  assert.deepEqual(monitor.remedies.map((r) => r.reason), [], 'no remedy');
  assert.ok(monitor.lines.some((l) => l.includes('not remedied: PM2 now says stopped')), `the log says why: ${monitor.lines.slice(-8).join('\n')}`);
  assert.equal((await sb.info('raced'))?.status, 'stopped', 'the app is still stopped');
});
