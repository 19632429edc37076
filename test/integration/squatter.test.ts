// A crash with a port squatter: the app hands its listening socket to a detached child and exits.
// PM2 alone loops on EADDRINUSE (errored after 16 quick restarts) while the squatter keeps the port; the
// monitor finds the squatter through /proc, kills it (it belongs to the app: same cwd and script),
// restarts the app and proves /health answers from the new instance.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createSandbox, healthUrl, exampleApp, httpStatus, injectFault, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startTestMonitor } from '../helpers/monitor.js';
import { PidLedger, holdersOf, isAlive, killIdentified, watchDescendants } from '../helpers/holders.js';

const PORT = 47200; // monitored app
const ALONE_PORT = 47201; // PM2 alone
let sb: Sandbox;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('squatter');
});
after(async () => {
  ledger.killAll();
  await sb.teardown();
});

/** The pid that answered /health (the example app reports its own pid), or 0. */
async function healthPid(port: number): Promise<number> {
  try {
    const res = await fetch(healthUrl(port), { signal: AbortSignal.timeout(1000) });
    if (res.status !== 200) return 0;
    return ((await res.json()) as { pid?: number }).pid ?? 0;
  } catch {
    return 0;
  }
}

test('PM2 alone: a squatter sends the app into an EADDRINUSE loop and /health stays dead', async (t) => {
  await sb.start(exampleApp('alone', ALONE_PORT));
  const started = await waitFor('alone healthy', async () => ((await httpStatus(healthUrl(ALONE_PORT))) === 200 ? sb.info('alone') : undefined));
  const restartsBefore = started.restarts;
  await injectFault(ALONE_PORT, 'squat');
  const squatter = await waitFor('a --squatter holding the port', () => holdersOf(ALONE_PORT).find((h) => h.command.includes('--squatter')), 10_000, 20);
  const squatterId = ledger.add(squatter.pid);
  assert.ok(squatterId, 'the squatter is alive');
  assert.notEqual(squatter.pid, started.pid, 'the holder is not the app');
  try {
    const t0 = Date.now();
    const looped = await waitFor(
      'PM2 to loop (restarts climbing) or give up (errored)',
      async () => {
        const now = await sb.info('alone');
        return now && (now.status === 'errored' || now.restarts - restartsBefore >= 10) ? now : undefined;
      },
      10_000,
      50,
    );
    t.diagnostic(`PM2 alone: status ${looped.status}, ${looped.restarts - restartsBefore} restarts after ${Date.now() - t0} ms`);
    assert.equal(await healthPid(ALONE_PORT), 0, 'no instance of the app answers /health');
    assert.equal(await httpStatus(healthUrl(ALONE_PORT)), 0, '/health does not answer (the squatter drops connections)');
    assert.ok(isAlive(squatterId), 'the squatter still holds the port: PM2 does nothing about it');
    assert.deepEqual(holdersOf(ALONE_PORT).map((h) => h.pid), [squatter.pid], 'only the squatter listens');
  } finally {
    killIdentified(squatterId);
    await waitFor('the squatter gone', () => !isAlive(squatterId), 5000);
    sb.pm2Cli(['delete', 'alone']);
  }
});

test('the monitor kills the squatter, restarts the app and /health answers from the new instance', async (t) => {
  await sb.start(exampleApp('squatted', PORT));
  const first = await waitFor('squatted healthy', async () => ((await httpStatus(healthUrl(PORT))) === 200 ? sb.info('squatted') : undefined));
  assert.deepEqual(holdersOf(PORT).map((h) => h.pid), [first.pid], 'before the fault only the app holds the port');
  const monitor = startTestMonitor(sb, {
    apps: [{ name: 'squatted', health: { url: healthUrl(PORT), interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: 0, ports: [PORT] }],
  });
  // The squatter is a child of the app until the app exits: catch it by watching the app's children.
  const children = watchDescendants(first.pid);
  try {
    await waitFor('monitor sees healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy');
    const t0 = Date.now();
    await injectFault(PORT, 'squat');
    const squatter = await waitFor('the squatter child seen', () => [...children.seen.values()].find((c) => c.command.includes('--squatter')), 10_000, 5);
    ledger.addIdentity(squatter.id);

    const now = await waitFor(
      'a new, healthy instance',
      async () => {
        const info = await sb.info('squatted');
        return info && info.status === 'online' && info.pid !== first.pid && (await healthPid(PORT)) === info.pid ? info : undefined;
      },
      20_000,
    );
    const elapsed = Date.now() - t0;
    t.diagnostic(`healthy again ${elapsed} ms after the fault; squatter pid ${squatter.id.pid}; PM2 restarts ${now.restarts - first.restarts}`);
    children.stop();

    await waitFor('the squatter dead', () => !isAlive(squatter.id), 5000);
    assert.deepEqual(holdersOf(PORT).map((h) => h.pid), [now.pid], 'only the new instance holds the port');
    assert.notEqual(now.status, 'errored');
    assert.ok(now.restarts - first.restarts < 15, `PM2 did not loop to its limit (${now.restarts - first.restarts} restarts)`);
    // cold start + 1 s is the target; leave room for a loaded CI machine
    assert.ok(elapsed < 8000, `healthy again after ${elapsed} ms`);

    const report = await waitFor('the remedy report', () => monitor.remedies[0]);
    assert.ok(report.ok, `the remedy succeeded: ${report.failure ?? ''}`);
    assert.match(report.reason, new RegExp(`port ${PORT} held by pid ${squatter.id.pid}`));
    const killed = report.ports?.killed.find((k) => k.pid === squatter.id.pid);
    assert.ok(killed, `the report lists the killed squatter: ${JSON.stringify(report.ports)}`);
    assert.match(killed.command, /--squatter/);
    assert.equal(killed.port, PORT);
    assert.deepEqual(report.ports?.refused, [], 'nothing refused');

    const line = monitor.lines.find((l) => l.includes(`killed pid ${squatter.id.pid} `));
    assert.ok(line, `a log line names the killed pid:\n${monitor.lines.join('\n')}`);
    assert.match(line, /--squatter/, 'and its command');
    assert.ok(monitor.lines.some((l) => /remedy succeeded/.test(l)), 'the log says the remedy succeeded');
    await waitFor('monitor back to healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy', 5000);
  } finally {
    children.stop();
    await monitor.stop();
  }
});
